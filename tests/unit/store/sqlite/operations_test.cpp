#include "store/sqlite/operations.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/audit.h"
#include "store/sqlite/rows.h"
#include "support/temp_db.h"

using namespace aexd;

namespace {

Agent agent_with_slug(const std::string& slug) {
  Agent a;
  auto& m = *a.mutable_metadata();
  m.set_id(new_id(kAgentPrefix));
  m.set_slug(slug);
  m.set_owner_scope(res::organization);
  m.set_org("acme");
  return a;
}

Execution execution() {
  Execution e;
  e.mutable_metadata()->set_id(new_id(kExecutionPrefix));
  set_revision(*e.mutable_metadata(), 1);
  e.mutable_spec()->set_session_id("ses-test");
  return e;
}

struct Fixture {
  test::TempDb temp;
  std::unique_ptr<store::sqlite::Connection> db = temp.open();
  std::vector<model::ExecutionChange> changes;
  store::sqlite::Operations tx{*db, &changes};
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a slug another agent holds in the scope is ALREADY_EXISTS from the unique index itself") {
  REQUIRE(tx.insert(agent_with_slug("reviewer")).ok());
  const auto status = tx.insert(agent_with_slug("reviewer"));  // no check before: the constraint answers
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(status.error_message() == "Agent with slug 'reviewer' already exists in this owner scope and org");

  Agent moved = agent_with_slug("other");
  REQUIRE(tx.insert(moved).ok());
  Agent renamed = moved;
  renamed.mutable_metadata()->set_slug("reviewer");
  CHECK(tx.replace(renamed, moved).error_code() == grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE_FIXTURE(Fixture, "an unreadable row is a DATA_LOSS status naming it, not an exception") {
  const std::string id = new_id(kAgentPrefix);
  db->query("INSERT INTO agents(id, owner_scope, org, slug, body) VALUES(?, 1, 'acme', 'x', x'ffff')").bind(id).run();
  std::optional<Agent> found;
  const auto status = tx.find(id, found);
  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK(status.error_message().find(id) != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "an absent row is found as nothing, with OK") {
  std::optional<Execution> found;
  CHECK(tx.find(new_id(kExecutionPrefix), found).ok());
  CHECK_FALSE(found);
  model::SnapshotPtr snapshot;
  CHECK(tx.find_snapshot(new_id(kExecutionPrefix), snapshot).ok());
  CHECK_FALSE(snapshot);
}

TEST_CASE_FIXTURE(Fixture, "execution writes announce the snapshot they stored, and a delete announces null") {
  Execution e = execution();
  const auto first = model::make_snapshot(e);
  REQUIRE(tx.insert(e, first).ok());
  Execution next = e;
  next.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  set_revision(*next.mutable_metadata(), 2);
  const auto second = model::make_snapshot(next);
  REQUIRE(tx.replace_status(next, exv1::EXECUTION_PHASE_UNSPECIFIED, second).ok());
  REQUIRE(tx.remove(next).ok());

  REQUIRE(changes.size() == 3);
  CHECK(changes[0].snapshot == first);
  CHECK(changes[1].snapshot == second);
  CHECK(changes[2].id == e.metadata().id());
  CHECK_FALSE(changes[2].snapshot);
}

TEST_CASE_FIXTURE(Fixture, "the row stores the bytes of the snapshot it was given") {
  Execution e = execution();
  const auto encoded = model::make_snapshot(e);
  REQUIRE(tx.insert(e, encoded).ok());
  model::SnapshotPtr stored;
  REQUIRE(tx.find_snapshot(e.metadata().id(), stored).ok());
  REQUIRE(stored);
  CHECK(stored->view() == encoded->view());
  CHECK(stored->revision == 1);
}

TEST_CASE_FIXTURE(Fixture, "a reader's operations refuse to write and leave the database unchanged") {
  store::sqlite::Operations reader(*db, nullptr);
  CHECK(reader.insert(agent_with_slug("reviewer")).error_code() == grpc::StatusCode::INTERNAL);
  CHECK_FALSE(store::sqlite::id_by_slug<Agent>(*db, agent_with_slug("reviewer").metadata(), "reviewer"));
}

TEST_CASE_FIXTURE(Fixture, "an idempotency key is found as it was inserted, and not once removed") {
  const store::IdempotencyKey key{"retry-1", std::string("\x00\xff fingerprint", 14), "aex-1", 1'700'000'000'000};
  REQUIRE(tx.insert(key).ok());

  std::optional<store::IdempotencyKey> found;
  REQUIRE(tx.find_idempotency_key("retry-1", found).ok());
  REQUIRE(found);
  CHECK(found->key == key.key);
  CHECK(found->fingerprint == key.fingerprint);
  CHECK(found->execution_id == key.execution_id);
  CHECK(found->created_ms == key.created_ms);

  REQUIRE(tx.remove_idempotency_key("retry-1").ok());
  REQUIRE(tx.find_idempotency_key("retry-1", found).ok());
  CHECK_FALSE(found);
}

TEST_CASE_FIXTURE(Fixture, "a held idempotency key is ALREADY_EXISTS from the primary key itself") {
  REQUIRE(tx.insert(store::IdempotencyKey{"retry-1", "a", "aex-1", 1}).ok());
  const auto status = tx.insert(store::IdempotencyKey{"retry-1", "b", "aex-2", 2});  // no check before
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  std::optional<store::IdempotencyKey> found;
  REQUIRE(tx.find_idempotency_key("retry-1", found).ok());
  REQUIRE(found);
  CHECK(found->execution_id == "aex-1");
}

TEST_CASE_FIXTURE(Fixture,
                  "removing expired idempotency keys takes the oldest ones before the cutoff, at most the limit") {
  for (int64_t created : {40, 10, 30, 20, 50, 60})
    REQUIRE(tx.insert(store::IdempotencyKey{"k" + std::to_string(created), "f", "aex-1", created}).ok());

  REQUIRE(tx.remove_idempotency_keys_before(50, 3).ok());

  std::vector<std::string> left;
  auto q = db->query("SELECT key FROM idempotency_keys ORDER BY created_ms");
  while (q.step()) left.emplace_back(q.text(0));
  CHECK(left == std::vector<std::string>{"k40", "k50", "k60"});
}

TEST_CASE_FIXTURE(Fixture, "a slug looked up in any org of a scope finds its oldest holder, and only in that scope") {
  Agent first = agent_with_slug("helper");
  first.mutable_metadata()->set_owner_scope(res::platform);
  Agent second = agent_with_slug("helper");
  second.mutable_metadata()->set_owner_scope(res::platform);
  second.mutable_metadata()->set_org("globex");
  REQUIRE(tx.insert(first).ok());
  REQUIRE(tx.insert(second).ok());
  std::string id;
  REQUIRE(tx.agent_by_slug_in_any_org(res::platform, "helper", id).ok());
  CHECK(id == first.metadata().id());
  REQUIRE(tx.agent_by_slug_in_any_org(res::organization, "helper", id).ok());
  CHECK(id.empty());
  REQUIRE(tx.instance_by_slug_in_any_org(res::platform, "helper", id).ok());
  CHECK(id.empty());
}

TEST_CASE("each storage failure is the gRPC code that tells the client what to do, its cause named") {
  struct Case {
    int code;
    int system_errno;
    grpc::StatusCode expected;
    const char* cause;
  };
  const Case cases[] = {
      {SQLITE_FULL, 0, grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"},
      {SQLITE_IOERR_WRITE, ENOSPC, grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"},
      {SQLITE_IOERR_SHMSIZE, ENOSPC, grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"},
      {SQLITE_NOMEM, 0, grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory"},
      {SQLITE_IOERR_NOMEM, 0, grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory"},
      {SQLITE_CANTOPEN, EMFILE, grpc::StatusCode::RESOURCE_EXHAUSTED, "out of file descriptors"},
      {SQLITE_READONLY, 0, grpc::StatusCode::FAILED_PRECONDITION, "read-only storage"},
      {SQLITE_READONLY_DBMOVED, 0, grpc::StatusCode::FAILED_PRECONDITION, "read-only storage"},
      {SQLITE_IOERR_WRITE, EROFS, grpc::StatusCode::FAILED_PRECONDITION, "read-only storage"},
      {SQLITE_CANTOPEN, EACCES, grpc::StatusCode::FAILED_PRECONDITION, "storage access denied"},
      {SQLITE_PERM, 0, grpc::StatusCode::FAILED_PRECONDITION, "storage access denied"},
      {SQLITE_BUSY, 0, grpc::StatusCode::UNAVAILABLE, "database locked"},
      {SQLITE_BUSY_SNAPSHOT, 0, grpc::StatusCode::UNAVAILABLE, "database locked"},
      {SQLITE_LOCKED, 0, grpc::StatusCode::UNAVAILABLE, "database locked"},
      {SQLITE_IOERR_FSYNC, EIO, grpc::StatusCode::UNAVAILABLE, "I/O error"},
      {SQLITE_CANTOPEN, ENOENT, grpc::StatusCode::UNAVAILABLE, "cannot open a database file"},
      {SQLITE_CORRUPT, 0, grpc::StatusCode::DATA_LOSS, "database corrupt"},
      {SQLITE_NOTADB, 0, grpc::StatusCode::DATA_LOSS, "database corrupt"},
      {SQLITE_ERROR, 0, grpc::StatusCode::INTERNAL, ""},
      {SQLITE_CONSTRAINT_FOREIGNKEY, 0, grpc::StatusCode::INTERNAL, ""},
      // errno is read for I/O failures only: SQLite keeps the last one it saw, whatever failed since.
      {SQLITE_CONSTRAINT_UNIQUE, ENOSPC, grpc::StatusCode::INTERNAL, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.code);
    CAPTURE(c.system_errno);
    const auto status = store::sqlite::status_of(store::sqlite::Error(c.code, "sqlite: detail", c.system_errno));
    CHECK(status.error_code() == c.expected);
    CHECK(status.error_message() ==
          std::string("storage error: ") + (*c.cause ? c.cause + std::string(": ") : "") + "sqlite: detail");
  }
  CHECK(store::sqlite::status_of(std::runtime_error("not sqlite's")).error_code() == grpc::StatusCode::INTERNAL);
  CHECK(store::sqlite::status_of(store::sqlite::Error(SQLITE_FULL, "x"), "not committed").error_message() ==
        "not committed: disk full: x");
}
