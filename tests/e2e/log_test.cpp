// --log-format json --log-level debug: the real binary's stderr is one JSON object per line, with a
// line per call and per lifecycle event.
#include <nlohmann/json.hpp>

#include "support/aexd_process.h"
#include "support/client.h"

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
  AexdProcess aexd((dir.path() / "aexd.db").string(), "--log-format json --log-level debug");
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
