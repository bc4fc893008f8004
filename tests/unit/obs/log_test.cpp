// obs/log.h: the text and JSON line formats, with fields and escaping.
#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "obs/log.h"

using namespace aexd::obs;

namespace {

/// A logger at trace writing `format` lines into a string.
struct Captured {
  explicit Captured(LogFormat format) : logger("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out)) {
    logger.set_formatter(line_formatter(format));
    logger.set_level(LogLevel::trace);
  }
  std::string text() const { return out.str(); }
  nlohmann::json json() const {
    const std::string line = out.str();
    REQUIRE(!line.empty());
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);  // one line per event
    return nlohmann::json::parse(line);
  }
  std::ostringstream out;
  spdlog::logger logger;
};

}  // namespace

TEST_CASE("log json: ts, level and msg first, then the fields, numbers as numbers") {
  Captured c(LogFormat::json);
  log(c.logger, LogLevel::debug, "call",
      {{"method", "svc/get"}, {"code", "NOT_FOUND"}, {"duration_ms", "0.250", true}, {"id", "aex-1"}});
  const auto j = c.json();
  CHECK(j.size() == 7);
  CHECK(j["level"] == "debug");
  CHECK(j["msg"] == "call");
  CHECK(j["method"] == "svc/get");
  CHECK(j["code"] == "NOT_FOUND");
  CHECK(j["duration_ms"] == doctest::Approx(0.25));
  CHECK(j["id"] == "aex-1");
  const std::string ts = j["ts"];
  CHECK(ts.size() == std::string("2024-05-01T12:00:00.123Z").size());
  CHECK(ts[10] == 'T');
  CHECK(ts.back() == 'Z');
  CHECK(c.text().rfind(R"({"ts":)", 0) == 0);
}

TEST_CASE("log json: quotes, backslashes, control characters, tabs and broken UTF-8 in values stay one valid line") {
  Captured c(LogFormat::json);
  const std::string nasty = std::string("a\"b\\c\nd\te\x01 f=\"g\" ") + "\xe2\x82";  // ends inside a UTF-8 sequence
  log(c.logger, LogLevel::warn, "odd \"input\"", {{"id", nasty}, {"peer", "ipv4:127.0.0.1:5"}});
  const auto j = c.json();
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "odd \"input\"");
  const std::string id = j["id"];
  CHECK(id.rfind("a\"b\\c\nd\te\x01 f=\"g\" ", 0) == 0);
  CHECK(j["peer"] == "ipv4:127.0.0.1:5");
}

TEST_CASE("log json: a line logged without fields, even with tabs or braces, is all message") {
  Captured c(LogFormat::json);
  c.logger.info("plain\tline {} = \"x\"");
  const auto j = c.json();
  CHECK(j.size() == 3);
  CHECK(j["msg"] == "plain\tline {} = \"x\"");
  CHECK(j["level"] == "info");
}

TEST_CASE("log text: time, level, message and key=value fields with strings quoted") {
  Captured c(LogFormat::text);
  log(c.logger, LogLevel::info, "execution created", {{"id", "aex-1"}, {"phase", "EXECUTION_PENDING"}});
  const std::string line = c.text();
  CHECK(line.find(" info execution created id=\"aex-1\" phase=\"EXECUTION_PENDING\"\n") != std::string::npos);
  CHECK(line.find('Z') == 23);  // 2024-05-01T12:00:00.123Z
}

TEST_CASE("log: below the logger's level nothing is written; client input is bounded") {
  Captured c(LogFormat::json);
  c.logger.set_level(LogLevel::info);
  log(c.logger, LogLevel::debug, "call", {{"code", "OK"}});
  CHECK(c.text().empty());
  CHECK(bounded(std::string(1000, 'x')).size() == 64);
  CHECK(bounded("short") == "short");
}
