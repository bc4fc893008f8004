// The configuration without a process: arguments, environment and file contents are passed in.
#include "app/config.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

using namespace aexd;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Files by path; any other path cannot be read.
config::ReadFile files(std::map<std::string, std::string> contents) {
  return [contents = std::move(contents)](const std::string& path, std::string& error) -> std::optional<std::string> {
    if (auto it = contents.find(path); it != contents.end()) return it->second;
    error = "No such file or directory";
    return std::nullopt;
  };
}

config::Loaded load(const std::vector<std::string>& args, const config::Environment& env = {},
                    const std::string& file = "") {
  return config::load(args, env, files({{"aexd.json", file}}));
}

/// Options that must load without an error or an exit.
Options options_of(const config::Loaded& loaded) {
  INFO(loaded.err);
  REQUIRE_FALSE(loaded.exit_code);
  return loaded.options;
}

/// The message of a load that must fail.
std::string error_of(const config::Loaded& loaded) {
  REQUIRE(loaded.exit_code);
  CHECK(*loaded.exit_code != 0);
  CHECK(loaded.out.empty());
  return loaded.err;
}

}  // namespace

TEST_CASE("config: with no source, every setting has Options' default") { CHECK(options_of(load({})) == Options{}); }

TEST_CASE("config: a flag wins over the environment, which wins over the file, which wins over the default") {
  const std::string file = R"({"max-queued-writes": 1, "max-in-flight": 2, "cache-mb": 3, "stall-timeout": "7m"})";
  const config::Environment env{{"AEXD_MAX_QUEUED_WRITES", "11"}, {"AEXD_MAX_IN_FLIGHT", "12"}};
  const auto o = options_of(load({"--config", "aexd.json", "--max-queued-writes", "21"}, env, file));
  CHECK(o.max_queued_writes == 21);  // flag over env and file
  CHECK(o.max_in_flight == 12);      // env over file
  CHECK(o.cache_mb == 3);            // file over default
  CHECK(o.stall_timeout == 7min);
  CHECK(o.max_attempts == Options{}.max_attempts);  // default
}

TEST_CASE("config: each kind of setting reads from a flag, the environment and the file") {
  SUBCASE("flags") {
    const auto o = options_of(load({"--listen=0.0.0.0:1", "--sync", "FULL", "--bench-noop", "--idempotency-ttl", "90m",
                                    "--lease-seconds", "30", "--shutdown-grace", "0"}));
    CHECK(o.listen == "0.0.0.0:1");
    CHECK(o.sync == store::Sync::full);
    CHECK(o.bench_noop);
    CHECK(o.idempotency_ttl == 90min);
    CHECK(o.lease == 30s);
    CHECK(o.shutdown_grace == 0ms);
  }
  SUBCASE("environment") {
    const auto o = options_of(load({}, {{"AEXD_DB", "/tmp/x.db"},
                                        {"AEXD_SYNC", "off"},
                                        {"AEXD_BENCH_NOOP", "true"},
                                        {"AEXD_STALL_TIMEOUT", "1500ms"},
                                        {"AEXD_LEASE_SECONDS", "5"}}));
    CHECK(o.db == "/tmp/x.db");
    CHECK(o.sync == store::Sync::off);
    CHECK(o.bench_noop);
    CHECK(o.stall_timeout == 1500ms);
    CHECK(o.lease == 5s);
  }
  SUBCASE("file, named by AEXD_CONFIG") {
    const auto o = options_of(
        load({}, {{"AEXD_CONFIG", "aexd.json"}},
             R"({"readers": 4, "sync": "full", "bench-noop": true, "idempotency-ttl": 90, "lease-seconds": 15})"));
    CHECK(o.readers == 4);
    CHECK(o.sync == store::Sync::full);
    CHECK(o.bench_noop);
    CHECK(o.idempotency_ttl == 90s);  // a bare number is seconds
    CHECK(o.lease == 15s);
  }
  SUBCASE("--config wins over AEXD_CONFIG") {
    const auto loaded = config::load({"--config", "b.json"}, {{"AEXD_CONFIG", "a.json"}},
                                     files({{"a.json", R"({"readers": 1})"}, {"b.json", R"({"readers": 2})"}}));
    CHECK(options_of(loaded).readers == 2);
  }
  SUBCASE("a switch flag can be turned off over the environment") {
    CHECK_FALSE(options_of(load({"--bench-noop=false"}, {{"AEXD_BENCH_NOOP", "1"}})).bench_noop);
  }
}

TEST_CASE("config: an unknown key in the file is an error naming the key and the file") {
  const auto err = error_of(load({"--config", "aexd.json"}, {}, R"({"listen": "127.0.0.1:1", "max-queue-writes": 5})"));
  CHECK(err.find("aexd.json") != std::string::npos);
  CHECK(err.find("unknown setting \"max-queue-writes\"") != std::string::npos);
}

TEST_CASE("config: a bad value names the setting and where it came from") {
  SUBCASE("file: wrong type") {
    const auto err = error_of(load({"--config", "aexd.json"}, {}, R"({"max-queued-writes": "many"})"));
    CHECK(err.find("aexd.json") != std::string::npos);
    CHECK(err.find("\"max-queued-writes\"") != std::string::npos);
    CHECK(err.find("must be a whole number") != std::string::npos);
  }
  SUBCASE("file: out of range") {
    const auto err = error_of(load({"--config", "aexd.json"}, {}, R"({"max-message-mb": 4096})"));
    CHECK(err.find("\"max-message-mb\": 4096 must be between 1 and 2047") != std::string::npos);
  }
  SUBCASE("file: a negative count") {
    CHECK(error_of(load({"--config", "aexd.json"}, {}, R"({"cache-mb": -1})")).find("out of range") !=
          std::string::npos);
  }
  SUBCASE("environment") {
    const auto err = error_of(load({}, {{"AEXD_STALL_TIMEOUT", "ten minutes"}}));
    CHECK(err.find("environment variable AEXD_STALL_TIMEOUT=ten minutes") != std::string::npos);
    CHECK(err.find("must be a duration") != std::string::npos);
  }
  SUBCASE("flag") {
    const auto err = error_of(load({"--max-queued-writes", "0"}));
    CHECK(err.find("--max-queued-writes=0: must be at least 1") != std::string::npos);
  }
  SUBCASE("flag: a choice") {
    CHECK(error_of(load({"--sync", "sometimes"})).find("--sync=sometimes: must be one of full|normal|off") !=
          std::string::npos);
  }
  SUBCASE("a value a higher source overrides is still checked") {
    CHECK(error_of(load({"--readers", "2"}, {{"AEXD_READERS", "-1"}})).find("AEXD_READERS=-1") != std::string::npos);
  }
  SUBCASE("the file is not JSON, or cannot be read") {
    CHECK(error_of(load({"--config", "aexd.json"}, {}, "{readers: 1}")).find("aexd.json: not valid JSON") !=
          std::string::npos);
    CHECK(error_of(load({"--config", "missing.json"})).find("missing.json: No such file") != std::string::npos);
    CHECK(error_of(load({"--config", "aexd.json"}, {}, "[1]")).find("must be a JSON object") != std::string::npos);
  }
  SUBCASE("an unknown flag") {
    CHECK(error_of(load({"--max-queue-writes", "1"})).find("--max-queue-writes") != std::string::npos);
  }
}

TEST_CASE("config: --print-config prints every setting, durations as text, and exits 0") {
  const auto loaded =
      load({"--print-config", "--stall-timeout", "0", "--shutdown-grace", "1500ms"}, {{"AEXD_MAX_IN_FLIGHT", "7"}});
  REQUIRE(loaded.exit_code == 0);
  CHECK(loaded.err.empty());
  const json printed = json::parse(loaded.out);
  CHECK(printed.at("max-in-flight") == 7);
  CHECK(printed.at("stall-timeout") == "0");
  CHECK(printed.at("idempotency-ttl") == "24h");
  CHECK(printed.at("shutdown-grace") == "1500ms");
  CHECK(printed.at("lease-seconds") == 60);
  CHECK(printed.at("sync") == "normal");
  CHECK(printed.at("bench-noop") == false);
  CHECK(printed.at("listen") == "127.0.0.1:7234");
  CHECK(printed.at("idle-timeout") == "5m");
  for (const char* name : {"db", "readers", "max-queued-writes", "cache-mb", "max-message-mb", "max-attempts"})
    CHECK_MESSAGE(printed.contains(name), name);
}

TEST_CASE("config: --print-config's output read back as --config gives the same configuration") {
  const std::vector<std::vector<std::string>> cases{
      {},
      {"--listen",
       "0.0.0.0:9",
       "--db",
       "/var/lib/aexd/a b.db",
       "--sync",
       "off",
       "--readers",
       "3",
       "--max-queued-writes",
       "5000",
       "--max-in-flight",
       "9",
       "--cache-mb",
       "0",
       "--max-message-mb",
       "2047",
       "--bench-noop",
       "--idempotency-ttl",
       "90m",
       "--lease-seconds",
       "86400",
       "--max-attempts",
       "1000",
       "--stall-timeout",
       "0",
       "--shutdown-grace",
       "2500ms"},
      {"--idempotency-ttl", "3601s", "--stall-timeout", "120s", "--shutdown-grace", "1h"},
      {"--idle-timeout", "0", "--keepalive-time", "90s", "--keepalive-timeout", "500ms", "--min-client-ping-interval",
       "1m"},
  };
  for (const auto& args : cases) {
    auto printing = args;
    printing.push_back("--print-config");
    const auto printed = load(printing);
    REQUIRE(printed.exit_code == 0);
    const auto original = options_of(load(args));
    const auto reloaded = options_of(load({"--config", "aexd.json"}, {}, printed.out));
    CHECK(reloaded == original);
    CHECK(config::to_json(reloaded) + "\n" == printed.out);
  }
}

TEST_CASE("config: --help names every setting and how the environment and the file give them") {
  const auto loaded = load({"--help"});
  REQUIRE(loaded.exit_code == 0);
  for (const char* text :
       {"--max-queued-writes", "--shutdown-grace", "--config", "--print-config", "AEXD_MAX_QUEUED_WRITES", "DURATION"})
    CHECK_MESSAGE(loaded.out.find(text) != std::string::npos, text);
}
