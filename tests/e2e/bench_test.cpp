// aexbench against a real in-process server: each scenario runs, and its JSON summary carries
// ghz's fields with every call accounted for.
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "auth/tokens.h"
#include "support/certificates.h"
#include "support/test_server.h"

using namespace aexd;
using namespace aexd::test;
using nlohmann::json;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
};

/// Runs aexbench (bounded by coreutils timeout so a hang fails the test instead of stalling it).
Outcome aexbench(const std::string& args) {
  const std::string command = "timeout --kill-after=5 60 " AEXBENCH_PATH " " + args;
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) outcome.out.append(buf, n);
  const int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

json run_json(const TestServer& server, const std::string& args) {
  const auto outcome = aexbench("--host " + server.address() + " --json --timeout 10s " + args);
  INFO("aexbench " << args << "\n" << outcome.out);
  REQUIRE(outcome.exit_code == 0);
  json summary = json::parse(outcome.out, nullptr, false);
  REQUIRE_FALSE(summary.is_discarded());
  return summary;
}

Options with_noop() {
  Options options;
  options.bench_noop = true;
  return options;
}

/// The statuses a summary reports, as {"OK": n, ...}.
std::map<std::string, uint64_t> codes(const json& summary) {
  return summary.at("statusCodeDistribution").get<std::map<std::string, uint64_t>>();
}

void check_summary_fields(const json& s) {
  for (const char* field : {"count", "total", "average", "fastest", "slowest", "rps", "latencyDistribution",
                            "statusCodeDistribution", "errorDistribution", "options"})
    CHECK_MESSAGE(s.contains(field), field);
  CHECK(s.at("total").get<int64_t>() > 0);
  CHECK(s.at("rps").get<double>() > 0);
  CHECK(s.at("fastest").get<uint64_t>() > 0);
  CHECK(s.at("fastest").get<uint64_t>() <= s.at("average").get<uint64_t>());
  CHECK(s.at("average").get<uint64_t>() <= s.at("slowest").get<uint64_t>());
  std::map<double, uint64_t> latency;
  for (const auto& entry : s.at("latencyDistribution"))
    latency[entry.at("percentage").get<double>()] = entry.at("latency").get<uint64_t>();
  for (double p : {50.0, 90.0, 99.0, 99.9}) CHECK_MESSAGE(latency.count(p), p);
  CHECK(latency[50] <= latency[90]);
  CHECK(latency[90] <= latency[99]);
  CHECK(latency[99] <= latency[99.9]);
  CHECK(latency[99.9] <= s.at("slowest").get<uint64_t>());
}

/// Every measured call of the run succeeded.
void check_all_ok(const json& s, uint64_t count) {
  check_summary_fields(s);
  CHECK(s.at("count").get<uint64_t>() == count);
  CHECK(codes(s) == std::map<std::string, uint64_t>{{"OK", count}});
}

}  // namespace

TEST_CASE("aexbench noop: 200 calls to the floor service all succeed and the summary has ghz's fields") {
  TestServer server(with_noop());
  check_all_ok(run_json(server, "--call noop -c 8 -n 200"), 200);
}

TEST_CASE("aexbench --token --tls-ca: calls to a server with auth and TLS all succeed, and the summary says so") {
  TempDir dir;
  TestCa ca;
  const auto cert = ca.server();
  const std::string token = "aexd_" + std::string(64, '5');
  Options options;
  options.auth_tokens = write_file(dir.path() / "tokens", "bench writer " + auth::to_hex(auth::sha256(token)) + "\n");
  options.tls_cert = write_file(dir.path() / "server.pem", cert.cert);
  options.tls_key = write_file(dir.path() / "server.key", cert.key);
  TestServer server(options);
  const auto ca_file = write_file(dir.path() / "ca.pem", ca.pem());

  const auto s = run_json(server, "--call get -c 4 -n 100 --token " + token + " --tls-ca " + ca_file);
  check_all_ok(s, 100);
  CHECK(s.at("options").at("token").get<bool>());
  CHECK(s.at("options").at("tls").get<bool>());
  // Without the token, setting up (creating the agent) is refused and aexbench says so.
  const auto refused =
      aexbench("--host " + server.address() + " --timeout 10s --call get -n 10 --tls-ca " + ca_file + " 2>&1");
  INFO(refused.out);
  CHECK(refused.exit_code != 0);
  CHECK(refused.out.find("creating agent failed: Unauthenticated") != std::string::npos);
}

TEST_CASE("aexbench create: 200 executions created by agent id all succeed") {
  TestServer server;
  check_all_ok(run_json(server, "--call create -c 8 -n 200"), 200);
}

TEST_CASE("aexbench updateStatus: 200 status pushes all succeed") {
  TestServer server;
  check_all_ok(run_json(server, "--call updateStatus -c 8 -n 200 --executions 8"), 200);
}

TEST_CASE("aexbench get: 200 reads over two connections all succeed") {
  TestServer server;
  check_all_ok(run_json(server, "--call get -c 8 -n 200 --executions 8 --connections 2"), 200);
}

TEST_CASE("aexbench mixed: 200 calls of create, updateStatus and get all succeed") {
  TestServer server;
  check_all_ok(run_json(server, "--call mixed -c 8 -n 200 --executions 8"), 200);
}

TEST_CASE("aexbench list: 200 list calls over 8 executions all succeed") {
  TestServer server;
  check_all_ok(run_json(server, "--call list -c 4 -n 200 --executions 8"), 200);
}

TEST_CASE("aexbench subscribe: 200 updates over 4 streams each reach their stream, all OK") {
  TestServer server;
  check_all_ok(run_json(server, "--call subscribe -c 4 -n 200"), 200);
}

TEST_CASE("aexbench subscribe: when the server goes away mid-run, the run ends early with the errors counted") {
  TestServer server;
  const std::string command = "timeout --kill-after=5 60 " AEXBENCH_PATH " --host " + server.address() +
                              " --json --timeout 5s --call subscribe -c 4 -z 30s 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char line[4096];
  // aexbench says on stderr when setup is over and the load starts.
  while (out.find("running") == std::string::npos && fgets(line, sizeof line, pipe)) out += line;
  server.server().shutdown();
  for (size_t n; (n = fread(line, 1, sizeof line, pipe)) > 0;) out.append(line, n);
  const int status = pclose(pipe);
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const size_t begin = out.find("\n{\n");
  REQUIRE(begin != std::string::npos);
  const json s = json::parse(out.substr(begin), nullptr, false);
  REQUIRE_FALSE(s.is_discarded());
  const auto seen = codes(s);
  uint64_t errors = 0;
  for (const auto& [code, n] : seen)
    if (code != "OK") errors += n;
  CHECK(errors > 0);
  CHECK(s.at("total").get<int64_t>() < 20'000'000'000);
}

TEST_CASE("aexbench leaves warm-up requests out of the summary") {
  TestServer server(with_noop());
  const json s = run_json(server, "--call noop -c 4 -n 100 --warmup 50");
  CHECK(s.at("count").get<uint64_t>() == 100);
  CHECK(s.at("options").at("warmupRequests").get<uint64_t>() == 50);
}

TEST_CASE("aexbench with a duration runs until it is over and reports it in place of a total") {
  TestServer server(with_noop());
  const json s = run_json(server, "--call noop -c 4 -z 300ms");
  CHECK(s.at("count").get<uint64_t>() > 0);
  CHECK(codes(s) == std::map<std::string, uint64_t>{{"OK", s.at("count").get<uint64_t>()}});
  CHECK(s.at("options").at("duration").get<int64_t>() == 300'000'000);
  CHECK_FALSE(s.at("options").contains("total"));
  // Calls start until the duration is over; the last may still be in flight then.
  CHECK(s.at("total").get<int64_t>() >= 250'000'000);
}

TEST_CASE("aexbench --rps spaces the calls out so the run cannot be faster than the rate allows") {
  TestServer server(with_noop());
  const json s = run_json(server, "--call noop -c 4 -n 40 --rps 100");
  CHECK(s.at("count").get<uint64_t>() == 40);
  // 40 calls at 100/s are scheduled over 39 intervals of 10 ms (390 ms); the first may start a
  // little late, which shortens the run by that much, never by whole intervals.
  CHECK(s.at("total").get<int64_t>() >= 300'000'000);
  CHECK(s.at("rps").get<double>() <= 40 / 0.3);
}

TEST_CASE("aexbench --rps holds a rate far below capacity over a duration, with every call OK") {
  TestServer server(with_noop());
  const json s = run_json(server, "--call noop -c 8 -z 2s --rps 200");
  CHECK(codes(s) == std::map<std::string, uint64_t>{{"OK", s.at("count").get<uint64_t>()}});
  CHECK(s.at("rps").get<double>() == doctest::Approx(200).epsilon(0.1));
}

TEST_CASE("aexbench prints a text summary with the status codes by default") {
  TestServer server(with_noop());
  const auto outcome = aexbench("--host " + server.address() + " --call noop -c 2 -n 20");
  INFO(outcome.out);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out.find("Requests/sec:") != std::string::npos);
  CHECK(outcome.out.find("[OK]   20 responses") != std::string::npos);
}

TEST_CASE("aexbench fails with a message when the server cannot be reached") {
  int port = 0;  // a port the server bound and released: nothing listens there now
  {
    TestServer server;
    port = server.server().port();
  }
  const auto outcome = aexbench("--host 127.0.0.1:" + std::to_string(port) + " --call get -n 10 --timeout 1s 2>&1");
  INFO(outcome.out);
  CHECK(outcome.exit_code == 1);
  CHECK(outcome.out.find("cannot connect") != std::string::npos);
}
