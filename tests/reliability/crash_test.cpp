// The crash harness: concurrent writers against the real aexd, which is SIGKILLed at a uniformly random
// moment after they start and restarted on the same database, over and over (AEXD_CRASH_CYCLES, 20 by
// default). Every acknowledged write must survive (served after the restart, still in the file at the
// end), the file must pass PRAGMA integrity_check after every kill, revisions only move forward, and a
// repeated idempotency key never makes a second execution.
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/temp_dir.h"
#include "support/thread_failures.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

constexpr int kWriters = 16;
constexpr auto kMaxDelayBeforeKill = 1000ms;

int cycles_from_environment() {
  const char* cycles = std::getenv("AEXD_CRASH_CYCLES");
  return cycles != nullptr ? std::atoi(cycles) : 20;
}

int64_t revision_of(const Execution& e) { return std::stoll(e.metadata().version().id()); }

/// The part of a status the writers push: what a push acknowledged at a revision must leave there.
ExecutionStatus pushed_part(const ExecutionStatus& status) {
  ExecutionStatus part;
  part.set_phase(status.phase());
  *part.mutable_messages() = status.messages();
  return part;
}

/// What the store must hold for one execution a writer created: the status of its last acknowledged
/// write at that write's revision, or at a later revision the status of the push sent after it
/// whose outcome the writer never learnt (the kill came first).
struct ExpectedExecution {
  std::string message;
  int64_t revision = 0;
  ExecutionStatus acknowledged;
  std::optional<ExecutionStatus> in_doubt;
};

/// Why `stored` breaks what was acknowledged for it; empty if it does not.
std::string broken(const std::string& id, const ExpectedExecution& expected, const Execution& stored) {
  const int64_t revision = revision_of(stored);
  const auto pushed = pushed_part(stored.status());
  std::string why;
  if (stored.spec().message() != expected.message)
    why = "spec.message is \"" + stored.spec().message() + "\", acknowledged \"" + expected.message + "\"";
  else if (revision < expected.revision)
    why = "revision went back to " + std::to_string(revision);
  else if (revision == expected.revision && !same(pushed, expected.acknowledged))
    why = "its status is not the acknowledged one: " + pushed.ShortDebugString();
  else if (revision > expected.revision && !(expected.in_doubt && same(pushed, *expected.in_doubt)))
    why = "a write nobody sent is stored: " + pushed.ShortDebugString();
  return why.empty() ? why : id + " (acknowledged at revision " + std::to_string(expected.revision) + "): " + why;
}

/// One client's load, kept across crashes: creates (a third with an idempotency key, each sent twice),
/// agent creates, and status pushes ending in COMPLETED; every acknowledgement recorded. Its own
/// thread while it writes or verifies, the test thread in between.
class Writer {
 public:
  Writer(int index, std::string agent_id, uint64_t seed)
      : index_(index), agent_id_(std::move(agent_id)), random_(seed) {}

  /// Writes until `killed` or a call fails: UNAVAILABLE once aexd is killed, a failure otherwise.
  void write(const Client& api, const std::atomic<bool>& killed, ThreadFailures& failures) {
    while (!killed) {
      const grpc::Status status = step(api, failures);
      if (status.ok()) continue;
      if (!killed || status.error_code() != grpc::StatusCode::UNAVAILABLE)
        failures.ok(status, "writer " + std::to_string(index_));
      return;
    }
  }

  /// Checks every write of the last cycle (acknowledged or in doubt) through `api`, then forgets them.
  void verify_last_cycle(const Client& api, ThreadFailures& failures) {
    for (const auto& id : executions_written_) {
      auto stored = api.get<Execution>(id);
      if (!failures.ok(stored.status(), "get " + id)) continue;
      const auto& expected = executions_.at(id);
      if (auto why = broken(id, expected, *stored); !why.empty()) failures.add(why);
      if (expected.in_doubt) ++(revision_of(*stored) > expected.revision ? pushes_cut_stored_ : pushes_cut_dropped_);
    }
    for (const auto& id : agents_written_) {
      auto stored = api.get<Agent>(id);
      if (failures.ok(stored.status(), "get " + id) && stored->metadata().name() != agents_.at(id))
        failures.add(id + ": name is \"" + stored->metadata().name() + "\", acknowledged \"" + agents_.at(id) + "\"");
    }
    executions_written_.clear();
    agents_written_.clear();
  }

  const std::map<std::string, ExpectedExecution>& executions() const { return executions_; }
  const std::map<std::string, std::string>& agents() const { return agents_; }
  int64_t acknowledged() const { return acknowledged_; }
  /// Pushes the kill cut off before their reply, found stored anyway or not at all.
  int64_t pushes_cut_stored() const { return pushes_cut_stored_; }
  int64_t pushes_cut_dropped() const { return pushes_cut_dropped_; }

 private:
  struct KeyedCreate {
    std::string key;
    Execution request;
  };

  grpc::Status step(const Client& api, ThreadFailures& failures) {
    const std::string name = "w" + std::to_string(index_) + "-" + std::to_string(++steps_);
    if (keyed_in_doubt_) return create_with_key(api, failures);
    if (current_.empty()) {
      if (std::uniform_int_distribution(0, 2)(random_) == 0) {
        keyed_in_doubt_ = KeyedCreate{"key-" + name, make_execution_for_agent(agent_id_, name)};
        return create_with_key(api, failures);
      }
      auto created = api.create(make_execution_for_agent(agent_id_, name));
      if (created.ok()) start_pushing(*created, name, failures);
      return created.status();
    }
    if (std::uniform_int_distribution(0, 7)(random_) == 0) {
      auto agent = api.create(make_agent("crash " + name));
      if (agent.ok()) {
        agents_[agent->metadata().id()] = agent->metadata().name();
        agents_written_.insert(agent->metadata().id());
        ++acknowledged_;
      }
      return agent.status();
    }
    return push(api, name, failures);
  }

  /// Sends the keyed create twice (the second must name the same execution) and again after a
  /// failure, until both are acknowledged.
  grpc::Status create_with_key(const Client& api, ThreadFailures& failures) {
    const auto& [key, request] = *keyed_in_doubt_;
    for (int send = 0; send < 2; ++send) {
      auto created = api.create(request, key);
      if (!created.ok()) return created.status();
      const auto [known, added] = keyed_.emplace(key, created->metadata().id());
      if (!added && known->second != created->metadata().id())
        failures.add("idempotency key " + key + " made " + known->second + " and " + created->metadata().id());
      if (send == 0)
        start_pushing(*created, request.spec().message(), failures);
      else
        acknowledge(*created, false, failures);
    }
    keyed_in_doubt_.reset();
    return grpc::Status::OK;
  }

  void start_pushing(const Execution& created, const std::string& message, ThreadFailures& failures) {
    current_ = created.metadata().id();
    executions_[current_].message = message;
    pushes_left_ = std::uniform_int_distribution(2, 10)(random_);
    acknowledge(created, false, failures);
  }

  /// The next push to the current execution, or the one in doubt again (a runner resends its status).
  grpc::Status push(const Client& api, const std::string& name, ThreadFailures& failures) {
    auto& expected = executions_.at(current_);
    if (!expected.in_doubt) {
      ExecutionStatus status;
      status.set_phase(pushes_left_ == 1 ? exv1::EXECUTION_COMPLETED : exv1::EXECUTION_IN_PROGRESS);
      auto* message = status.add_messages();
      message->set_type(exv1::MESSAGE_AI);
      message->set_content(name);
      expected.in_doubt = status;
      executions_written_.insert(current_);
    }
    auto pushed = api.update_status(current_, *expected.in_doubt);
    if (!pushed.ok()) return pushed.status();
    expected.in_doubt.reset();
    acknowledge(*pushed, true, failures);
    if (--pushes_left_ == 0) current_.clear();
    return grpc::Status::OK;
  }

  /// Records `reply` as what is stored; a push must move the revision forward, a repeated create
  /// returns it where it was.
  void acknowledge(const Execution& reply, bool advances, ThreadFailures& failures) {
    const auto& id = reply.metadata().id();
    auto& expected = executions_[id];
    const int64_t revision = revision_of(reply);
    if (advances ? revision <= expected.revision : revision < expected.revision)
      failures.add(id + ": acknowledged revision " + std::to_string(revision) + " after " +
                   std::to_string(expected.revision));
    expected.revision = revision;
    expected.acknowledged = pushed_part(reply.status());
    executions_written_.insert(id);
    ++acknowledged_;
  }

  const int index_;
  const std::string agent_id_;
  std::mt19937_64 random_;
  int steps_ = 0;
  int64_t acknowledged_ = 0, pushes_cut_stored_ = 0, pushes_cut_dropped_ = 0;
  std::string current_;  // the execution being pushed to, empty between executions
  int pushes_left_ = 0;
  std::optional<KeyedCreate> keyed_in_doubt_;
  std::map<std::string, ExpectedExecution> executions_;
  std::map<std::string, std::string> agents_;                  // id → name
  std::map<std::string, std::string> keyed_;                   // idempotency key → execution id
  std::set<std::string> executions_written_, agents_written_;  // since the last verification
};

/// The database file opened read-only with SQLite itself, as any later process finds it.
class DatabaseFile {
 public:
  explicit DatabaseFile(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~DatabaseFile() { sqlite3_close(db_); }
  DatabaseFile(const DatabaseFile&) = delete;
  DatabaseFile& operator=(const DatabaseFile&) = delete;

  /// The rows of PRAGMA integrity_check, "ok" for a sound file.
  std::string integrity() {
    std::string out;
    each("PRAGMA integrity_check", [&](sqlite3_stmt* row) {
      out += (out.empty() ? "" : "; ") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(row, 0)));
    });
    return out;
  }
  /// Every stored execution by id, with the revision column written into its metadata.
  std::map<std::string, Execution> executions() {
    std::map<std::string, Execution> out;
    each("SELECT id, revision, body FROM executions", [&](sqlite3_stmt* row) {
      auto& e = out[reinterpret_cast<const char*>(sqlite3_column_text(row, 0))];
      REQUIRE(e.ParseFromArray(sqlite3_column_blob(row, 2), sqlite3_column_bytes(row, 2)));
      e.mutable_metadata()->mutable_version()->set_id(std::to_string(sqlite3_column_int64(row, 1)));
    });
    return out;
  }
  /// Every stored agent's name by id.
  std::map<std::string, std::string> agent_names() {
    std::map<std::string, std::string> out;
    each("SELECT id, body FROM agents", [&](sqlite3_stmt* row) {
      Agent a;
      REQUIRE(a.ParseFromArray(sqlite3_column_blob(row, 1), sqlite3_column_bytes(row, 1)));
      out[reinterpret_cast<const char*>(sqlite3_column_text(row, 0))] = a.metadata().name();
    });
    return out;
  }

 private:
  template <class Row>
  void each(const char* sql, Row row) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) == SQLITE_OK, sqlite3_errmsg(db_));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) row(stmt);
    sqlite3_finalize(stmt);
    REQUIRE_MESSAGE(rc == SQLITE_DONE, sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
};

/// One thread per writer running `work(writer, client)`, each client on a connection of its own to
/// `aexd`; joined on destruction.
class WriterThreads {
 public:
  template <class Work>
  WriterThreads(std::vector<Writer>& writers, const AexdProcess& aexd, Work work) {
    for (auto& w : writers) threads_.emplace_back([&w, work, api = Client(aexd.new_channel())] { work(w, api); });
  }
  ~WriterThreads() {
    for (auto& t : threads_) t.join();
  }
  WriterThreads(const WriterThreads&) = delete;
  WriterThreads& operator=(const WriterThreads&) = delete;

 private:
  std::vector<std::thread> threads_;
};

std::string first(const std::vector<std::string>& problems) { return problems.empty() ? "" : problems.front(); }

}  // namespace

TEST_CASE("crash: every write acknowledged before a SIGKILL at a random moment is there after the restart") {
  const int cycles = cycles_from_environment();
  const uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  TempDir dir;
  const std::string db = (dir.path() / "aexd.db").string();
  const auto started = std::chrono::steady_clock::now();

  auto aexd = std::make_unique<AexdProcess>(db);
  std::vector<Writer> writers;
  {
    Client api(aexd->new_channel());
    for (int w = 0; w < kWriters; ++w)
      writers.emplace_back(w, must(api.create(make_agent("crash writer " + std::to_string(w)))).metadata().id(),
                           random());
  }
  ThreadFailures failures;
  int cycle = 0, integrity_ok = 0;
  while (cycle < cycles && failures.empty()) {
    ++cycle;
    std::atomic<bool> killed{false};
    {
      WriterThreads writing(writers, *aexd, [&](Writer& w, const Client& api) { w.write(api, killed, failures); });
      // The random moment of the crash: a uniformly random delay, not a wait for anything.
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, kMaxDelayBeforeKill.count())(random)));
      killed = true;
      aexd->signal(SIGKILL);
    }
    const auto exit = aexd->wait_exit();
    REQUIRE_MESSAGE(exit.signal == SIGKILL, "cycle " << cycle << ": aexd " << exit.describe() << "\n" << aexd->log());

    const auto integrity = DatabaseFile(db).integrity();
    CHECK_MESSAGE(integrity == "ok", "cycle " << cycle << ": " << integrity);
    integrity_ok += integrity == "ok";

    aexd = std::make_unique<AexdProcess>(db);
    {
      WriterThreads verifying(writers, *aexd,
                              [&](Writer& w, const Client& api) { w.verify_last_cycle(api, failures); });
    }
    CHECK_MESSAGE(failures.empty(), "cycle " << cycle << ":\n" << failures.report());
  }
  CHECK(aexd->stop().success());

  // Once more, every write of every cycle, straight from the file; and one execution per create:
  // each create's message is unique, only keyed creates are resent, so a message seen twice is a
  // duplicate execution.
  DatabaseFile file(db);
  const auto stored = file.executions();
  const auto agent_names = file.agent_names();
  std::vector<std::string> lost;
  int64_t acknowledged = 0, cut_stored = 0, cut_dropped = 0;
  for (const auto& w : writers) {
    acknowledged += w.acknowledged();
    cut_stored += w.pushes_cut_stored();
    cut_dropped += w.pushes_cut_dropped();
    for (const auto& [id, expected] : w.executions()) {
      const auto found = stored.find(id);
      if (found == stored.end())
        lost.push_back(id + " is missing");
      else if (auto why = broken(id, expected, found->second); !why.empty())
        lost.push_back(why);
    }
    for (const auto& [id, name] : w.agents()) {
      const auto found = agent_names.find(id);
      if (found == agent_names.end() || found->second != name) lost.push_back(id + " (agent " + name + ") is missing");
    }
  }
  std::map<std::string, std::vector<std::string>> by_message;
  for (const auto& [id, e] : stored) by_message[e.spec().message()].push_back(id);
  std::vector<std::string> duplicates;
  for (const auto& [message, ids] : by_message)
    if (ids.size() > 1) duplicates.push_back(message + ": " + ids.front() + ", " + ids.back());

  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(cycle << " SIGKILL cycles under " << kWriters << " writers: " << acknowledged << " acknowledged writes, "
                << lost.size() << " lost, " << duplicates.size() << " duplicate executions, integrity ok "
                << integrity_ok << "/" << cycle << ", " << took << " s; pushes cut off by a kill: " << cut_stored
                << " stored, " << cut_dropped << " not");
  CHECK_MESSAGE(lost.empty(), first(lost));
  CHECK_MESSAGE(duplicates.empty(), first(duplicates));
  CHECK(integrity_ok == cycle);
  CHECK(cycle == cycles);
}
