// obs/event_log.h: the lifecycle lines an execution's commits give, and a call's debug line.
#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "obs/event_log.h"
#include "obs/log.h"

using namespace aexd;
using namespace aexd::obs;

namespace {

/// Makes the default logger a JSON one into a string for the test's lifetime.
struct DefaultLogger {
  explicit DefaultLogger(LogLevel level) : previous(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    logger->set_formatter(line_formatter(LogFormat::json));
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~DefaultLogger() { spdlog::set_default_logger(previous); }
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> out_lines;
    std::istringstream in(out.str());
    std::string line;
    while (std::getline(in, line)) out_lines.push_back(nlohmann::json::parse(line));
    return out_lines;
  }
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous;
};

model::ExecutionChange change(const std::string& id, uint64_t revision, Phase phase) {
  return {id, model::make_snapshot(revision, phase, "")};
}

}  // namespace

TEST_CASE("lifecycle log: created, started, phase changes, ended with its phase, deleted; status pushes are quiet") {
  DefaultLogger captured(LogLevel::info);
  LifecycleLog log;
  log.committed({change("a", 1, exv1::EXECUTION_PENDING), change("b", 1, exv1::EXECUTION_PENDING)});
  log.committed({change("a", 2, exv1::EXECUTION_IN_PROGRESS)});
  log.committed({change("a", 3, exv1::EXECUTION_IN_PROGRESS)});  // a status push: no line
  log.committed({change("a", 4, exv1::EXECUTION_PAUSED), change("b", 2, exv1::EXECUTION_CANCELLED)});
  log.committed({change("a", 5, exv1::EXECUTION_COMPLETED), {"b", nullptr}});

  const auto lines = captured.lines();
  REQUIRE(lines.size() == 7);
  auto is = [](const nlohmann::json& j, const std::string& msg, const std::string& id, const std::string& phase) {
    CHECK(j.at("msg") == msg);
    CHECK(j.at("id") == id);
    CHECK(j.at("level") == "info");
    if (!phase.empty()) CHECK(j.at("phase") == phase);
  };
  is(lines[0], "execution created", "a", "EXECUTION_PENDING");
  is(lines[1], "execution created", "b", "EXECUTION_PENDING");
  is(lines[2], "execution started", "a", "EXECUTION_IN_PROGRESS");
  is(lines[3], "execution phase changed", "a", "EXECUTION_PAUSED");
  CHECK(lines[3].at("from") == "EXECUTION_IN_PROGRESS");
  is(lines[4], "execution ended", "b", "EXECUTION_CANCELLED");
  is(lines[5], "execution ended", "a", "EXECUTION_COMPLETED");
  is(lines[6], "execution deleted", "b", "");
}

TEST_CASE("lifecycle log: nothing below info; call log: one debug line with bounded client input") {
  {
    DefaultLogger captured(LogLevel::warn);
    LifecycleLog log;
    log.committed({change("a", 1, exv1::EXECUTION_PENDING)});
    CHECK(captured.out.str().empty());
  }
  DefaultLogger captured(LogLevel::debug);
  CallLog calls;
  const grpc::Status status(grpc::StatusCode::NOT_FOUND, "");
  const std::string long_id(500, 'x');
  calls.ended({api::methods::kExecutionGet, status, std::chrono::microseconds(1500), "ipv4:127.0.0.1:4000", long_id});
  const auto lines = captured.lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("level") == "debug");
  CHECK(lines[0].at("method") == std::string(api::methods::kExecutionQueries) + "/get");
  CHECK(lines[0].at("code") == "NOT_FOUND");
  CHECK(lines[0].at("duration_ms") == doctest::Approx(1.5));
  CHECK(lines[0].at("peer") == "ipv4:127.0.0.1:4000");
  CHECK(lines[0].at("id") == std::string(64, 'x'));
}
