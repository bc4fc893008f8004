// The built aexd as a process: its configuration sources through --print-config, and SIGTERM in the
// middle of a write load (exit 0 within the grace, every acknowledged write there after a restart).
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "support/aexd_process.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/temp_dir.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

void write_file(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

/// `aexd ARGS` run to its exit.
struct Run {
  cli::ExitStatus exit;
  std::string out;
  std::string err;
};
Run run_aexd(const std::string& args, const Env& env = {}) {
  auto child = spawn_child("exec " AEXD_PATH " " + args, "", env);
  const auto output = run_child_to_exit(*child);
  return {*child->exit_status(), joined(output.stdout_lines), joined(output.stderr_lines)};
}

}  // namespace

TEST_CASE("aexd --print-config: a flag wins over the environment, which wins over the file") {
  TempDir dir;
  const auto file = dir.path() / "aexd.json";
  write_file(file, R"({"max-queued-writes": 1, "max-in-flight": 2, "cache-mb": 3, "stall-timeout": "7m"})");
  const auto run = run_aexd("--config " + file.string() + " --max-queued-writes 21 --print-config",
                            {{"AEXD_MAX_QUEUED_WRITES", "11"}, {"AEXD_MAX_IN_FLIGHT", "12"}});
  INFO(run.err);
  REQUIRE(run.exit.success());
  const json printed = json::parse(run.out);
  CHECK(printed.at("max-queued-writes") == 21);
  CHECK(printed.at("max-in-flight") == 12);
  CHECK(printed.at("cache-mb") == 3);
  CHECK(printed.at("stall-timeout") == "7m");
  CHECK(printed.at("idempotency-ttl") == "24h");
  CHECK(printed.at("shutdown-grace") == "5s");

  SUBCASE("its output, as the only source, gives the same configuration") {
    const auto again = dir.path() / "printed.json";
    write_file(again, run.out);
    const auto reprinted = run_aexd("--print-config", {{"AEXD_CONFIG", again.string()}});
    REQUIRE(reprinted.exit.success());
    CHECK(reprinted.out == run.out);
  }
}

TEST_CASE("aexd: a bad configuration exits non-zero naming the setting and its source, before serving") {
  TempDir dir;
  const auto file = dir.path() / "aexd.json";
  write_file(file, R"({"max-queue-writes": 5})");
  const auto unknown = run_aexd("--config " + file.string());
  CHECK_FALSE(unknown.exit.success());
  CHECK(unknown.err.find(file.string()) != std::string::npos);
  CHECK(unknown.err.find("\"max-queue-writes\"") != std::string::npos);

  const auto bad = run_aexd("--db " + (dir.path() / "x.db").string(), {{"AEXD_SHUTDOWN_GRACE", "soon"}});
  CHECK_FALSE(bad.exit.success());
  CHECK(bad.err.find("AEXD_SHUTDOWN_GRACE=soon") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "x.db"));
}

TEST_CASE("aexd: SIGTERM under a write load exits 0 within the grace and loses no acknowledged write") {
  TempDir dir;
  const std::string db = test_database(dir);
  std::vector<std::string> acknowledged;
  {
    AexdProcess aexd(db, "--shutdown-grace 5s");
    Client api(aexd.new_channel());
    const auto agent_id = must(api.create(make_agent("Load Agent"))).metadata().id();

    // Subscribe streams open on running executions: they end UNAVAILABLE.
    auto queries_channel = aexd.new_channel();
    auto queries = exv1::AgentExecutionQueryController::NewStub(queries_channel);
    std::vector<std::unique_ptr<WatchStream>> streams;
    for (int i = 0; i < 4; ++i) {
      const auto e = must(api.create(make_execution_for_agent(agent_id, "watched")));
      streams.push_back(std::make_unique<WatchStream>(*queries, e.metadata().id()));
      REQUIRE(streams.back()->wait_for_messages(1));
    }

    // Writers on connections of their own, each recording what was acknowledged.
    constexpr int kWriters = 8;
    std::atomic<bool> stop{false};
    std::atomic<int> acked{0};
    std::vector<std::vector<std::string>> ids(kWriters);
    // Refused calls end UNAVAILABLE; one that gRPC had received but not yet handed to aexd when it
    // stopped accepting ends CANCELLED (gRPC drops it unseen). Anything else is a failure.
    ThreadFailures failures;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w, channel = aexd.new_channel()] {
        Client client(channel);
        for (int n = 0; !stop; ++n) {
          auto created =
              client.create(make_execution_for_agent(agent_id, "w" + std::to_string(w) + "-" + std::to_string(n)));
          if (created.ok()) {
            ids[w].push_back(created->metadata().id());
            ++acked;
          } else {
            const auto code = created.status().error_code();
            if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::CANCELLED)
              failures.ok(created.status(), "create");
            std::this_thread::sleep_for(5ms);
          }
        }
      });
    }
    REQUIRE(eventually([&] { return acked >= 500; }, 60s));

    aexd.signal(SIGTERM);
    const auto signalled = std::chrono::steady_clock::now();
    const auto exit = aexd.wait_exit();
    const auto took = std::chrono::steady_clock::now() - signalled;
    stop = true;
    for (auto& t : writers) t.join();
    INFO(aexd.log());
    CHECK(exit.success());
    CHECK(took < 5s);
    CHECK_MESSAGE(failures.empty(), failures.report());
    CHECK(aexd.log().find("stopped") != std::string::npos);
    for (auto& s : streams) {
      const auto ended = s->wait_done();
      CHECK_MESSAGE(ended.error_code() == grpc::StatusCode::UNAVAILABLE, describe(ended));
    }
    for (auto& w : ids) acknowledged.insert(acknowledged.end(), w.begin(), w.end());
  }
  REQUIRE(acknowledged.size() >= 500);

  AexdProcess restarted(db);
  Client api(restarted.new_channel());
  size_t missing = 0;
  for (const auto& id : acknowledged) missing += api.get<Execution>(id).ok() ? 0 : 1;
  CHECK(missing == 0);
  restarted.signal(SIGTERM);
  CHECK(restarted.wait_exit().success());
}
