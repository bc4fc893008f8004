// --log-format json --log-level debug: the real binary's stderr is one JSON object per line, with a
// line per call and per lifecycle event.
#include <nlohmann/json.hpp>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/raw_call.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// Each stderr line as JSON; fails the test on a line that is not a JSON object.
std::vector<nlohmann::json> parsed(const std::vector<std::string>& stderr_lines) {
  std::vector<nlohmann::json> lines;
  for (const auto& line : stderr_lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(j.is_object(), "not a JSON object: " << line);
    CHECK(j.contains("ts"));
    CHECK(j.contains("level"));
    CHECK(j.contains("msg"));
    lines.push_back(std::move(j));
  }
  return lines;
}

bool has(const std::vector<std::string>& stderr_lines, const std::function<bool(const nlohmann::json&)>& match) {
  for (const auto& line : stderr_lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && match(j)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("log: with --log-format json every stderr line is JSON, one per call and lifecycle event") {
  TempDir dir;
  AexdProcess aexd(test_database(dir), "--log-format json --log-level debug");
  auto serving = [](const nlohmann::json& j) { return j.value("msg", "") == "serving"; };
  REQUIRE(has(aexd.lines(), serving));
  for (const auto& j : parsed(aexd.lines()))
    if (serving(j)) CHECK(j.at("port").get<int>() == aexd.port());

  Client api(grpc::CreateChannel(aexd.address(), grpc::InsecureChannelCredentials()));
  const auto agent = must(api.create(make_agent("Logged Agent")));
  const auto e = must(api.create(make_execution_for_agent(agent.metadata().id())));
  CHECK(api.get<Execution>("aex-not-there").status().error_code() == grpc::StatusCode::NOT_FOUND);

  const std::string get = std::string(api::methods::kExecutionQueries) + "/get";
  auto not_found = [&](const nlohmann::json& j) {
    return j.value("msg", "") == "call" && j.value("method", "") == get && j.value("code", "") == "NOT_FOUND";
  };
  auto created = [&](const nlohmann::json& j) {
    return j.value("msg", "") == "execution created" && j.value("id", "") == e.metadata().id();
  };
  aexd.wait_until([&](const std::vector<std::string>& lines) { return has(lines, not_found) && has(lines, created); });

  CHECK(aexd.stop(std::chrono::seconds(10)).success());

  bool timed_get = false, stopped = false;
  for (const auto& j : parsed(aexd.lines())) {
    if (not_found(j)) {
      timed_get = true;
      CHECK(j.at("level") == "debug");
      CHECK(j.at("duration_ms").is_number());
      CHECK(j.at("id") == "aex-not-there");
      CHECK(j.at("peer").get<std::string>().find("127.0.0.1") != std::string::npos);
    }
    if (j.at("msg") == "stopped") stopped = true;
  }
  CHECK(timed_get);
  CHECK(stopped);  // what was queued for stderr is written out before the process exits
}

TEST_CASE("log: a flood of undecodable and over-long requests logs no protobuf line and no unbounded client bytes") {
  TempDir dir;
  AexdProcess aexd(test_database(dir), "--log-level debug");
  const auto channel = aexd.new_channel();
  const std::string client_bytes(2000, 'Z');
  // Valid bytes, then the last byte of the string made invalid UTF-8: what protobuf itself logged.
  ai::stigmer::agentic::agent::v1::AgentId invalid_utf8;
  invalid_utf8.set_value(client_bytes + "Z");
  std::string undecodable = invalid_utf8.SerializeAsString();
  undecodable.back() = '\xff';
  exv1::AgentExecutionId over_long;
  over_long.set_value(client_bytes);

  constexpr int kFlood = 200;
  for (int i = 0; i < kFlood; ++i) {
    REQUIRE(raw_call(channel, api::methods::kAgentGet, undecodable).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    REQUIRE(raw_call(channel, api::methods::kExecutionGet, over_long.SerializeAsString()).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Each refused call has its debug line; once all are there, nothing of the flood is still to come.
  auto refused = [](const std::vector<std::string>& lines, const api::Method& method) {
    const std::string path = path_of(method).substr(1);  // as the call line names it, without the leading '/'
    int n = 0;
    for (const auto& line : lines)
      n += line.find(path) != std::string::npos && line.find("INVALID_ARGUMENT") != std::string::npos;
    return n;
  };
  aexd.wait_until([&](const std::vector<std::string>& lines) {
    return refused(lines, api::methods::kAgentGet) == kFlood && refused(lines, api::methods::kExecutionGet) == kFlood;
  });
  for (const auto& line : aexd.lines()) {
    INFO(line.substr(0, 200));
    CHECK(line.find("libprotobuf") == std::string::npos);
    CHECK(line.find(std::string(65, 'Z')) == std::string::npos);
  }
}
