#include "pipeline/retention.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/dispatch.h"
#include "unit/pipeline/fixture.h"

using namespace aexd;
using namespace aexd::pipeline;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Fixture : StoreFixture {
  Agent owner = agent();

  std::string created(const std::vector<std::string>& tags = {}, const Idempotency* key = nullptr) {
    Execution request = make_execution_for_agent(owner.metadata().id());
    for (const auto& tag : tags) request.mutable_metadata()->add_tags(tag);
    Execution out;
    const auto s = create_execution(tx, request, out, nullptr, key);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    return out.metadata().id();
  }
  void push(const std::string& id, Phase phase) {
    exv1::AgentExecutionUpdateStatusInput input;
    input.set_execution_id(id);
    input.mutable_status()->set_phase(phase);
    Execution out;
    const auto s = update_status(tx, input, out);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
  }
  /// An execution that ended at `ended_ms` (the column set as if its terminal write had run then).
  std::string ended_at(int64_t ended_ms, const std::vector<std::string>& tags = {}) {
    const std::string id = created(tags);
    push(id, exv1::EXECUTION_COMPLETED);
    db->query("UPDATE executions SET ended_ms=? WHERE id=?").bind(ended_ms).bind(id).run();
    return id;
  }
  std::optional<int64_t> ended_ms_of(const std::string& id) {
    auto q = db->query("SELECT ended_ms FROM executions WHERE id=?");
    REQUIRE(q.bind(id).step());
    return q.is_null(0) ? std::nullopt : std::optional<int64_t>(q.integer(0));
  }
  bool exists(const std::string& id) {
    std::optional<Execution> e;
    REQUIRE(tx.find(id, e).ok());
    return e.has_value();
  }
  model::RetentionBatch batch(int64_t before_ms, int limit) {
    model::RetentionBatch out;
    const auto s = remove_ended(tx, before_ms, limit, out);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    return out;
  }
  int64_t total(store::ExecutionFilter filter) {
    store::ListPage<Execution> page;
    REQUIRE(tx.list(store::ListQuery<store::ExecutionFilter>{std::move(filter), 1, ""}, page).ok());
    return page.total;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "the write that ends an execution records when it ended; an unfinished one has no end") {
  const std::string id = created();
  CHECK_FALSE(ended_ms_of(id).has_value());
  push(id, exv1::EXECUTION_IN_PROGRESS);
  CHECK_FALSE(ended_ms_of(id).has_value());
  int64_t before = wall_ms();
  push(id, exv1::EXECUTION_COMPLETED);
  REQUIRE(ended_ms_of(id).has_value());
  CHECK(*ended_ms_of(id) >= before);
  CHECK(*ended_ms_of(id) <= wall_ms());

  const std::string cancelled = created();
  Execution out;
  before = wall_ms();
  REQUIRE(transition(tx, cancelled, Lifecycle::cancel, "no longer needed", out).ok());
  REQUIRE(ended_ms_of(cancelled).has_value());
  CHECK(*ended_ms_of(cancelled) >= before);

  // A later write of the ended execution (its spec) does not move its end.
  db->query("UPDATE executions SET ended_ms=1000 WHERE id=?").bind(cancelled).run();
  Execution renamed = out;
  renamed.mutable_metadata()->set_name("renamed");
  const auto updated = update(tx, renamed, out);
  REQUIRE_MESSAGE(updated.ok(), updated.error_message());
  CHECK(ended_ms_of(cancelled) == std::optional<int64_t>(1000));
}

TEST_CASE_FIXTURE(Fixture, "a batch deletes at most N executions that ended by the cutoff, oldest first") {
  // Created in another order than they ended, so that id order is not what decides.
  const std::string third = ended_at(3000);
  const std::string first = ended_at(1000);
  const std::string fifth = ended_at(5000);
  const std::string second = ended_at(2000);
  const std::string fourth = ended_at(4000);
  const std::string pending = created();
  const std::string running = created();
  push(running, exv1::EXECUTION_IN_PROGRESS);
  changes.clear();

  auto done = batch(3500, 2);
  CHECK(done.removed == 2);
  CHECK(done.oldest_ended_ms == std::optional<int64_t>(3000));
  CHECK_FALSE(exists(first));
  CHECK_FALSE(exists(second));
  CHECK(exists(third));
  // The commit listener hears of them as of any delete.
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].id == first);
  CHECK(changes[0].snapshot == nullptr);
  CHECK(changes[1].id == second);
  CHECK(changes[1].snapshot == nullptr);

  done = batch(3500, 2);
  CHECK(done.removed == 1);
  CHECK(done.oldest_ended_ms == std::optional<int64_t>(4000));
  CHECK_FALSE(exists(third));

  done = batch(3500, 2);
  CHECK(done.removed == 0);
  CHECK(done.oldest_ended_ms == std::optional<int64_t>(4000));
  for (const auto& kept : {fourth, fifth, pending, running}) CHECK(exists(kept));

  // A cutoff in the far future still spares the unfinished ones.
  done = batch(int64_t{1} << 50, 100);
  CHECK(done.removed == 2);
  CHECK_FALSE(done.oldest_ended_ms.has_value());
  CHECK(exists(pending));
  CHECK(exists(running));
  CHECK(rows("executions") == 2);
}

TEST_CASE_FIXTURE(Fixture, "counts, tags and leases go with the executions a batch deletes") {
  const std::string old_red = ended_at(1000, {"red", "blue"});
  ended_at(1500, {"red"});
  const std::string young_red = ended_at(9000, {"red"});
  const std::string live_red = created({"red"});
  Execution held;
  store::Lease lease;
  REQUIRE(assign(tx, live_red, "runner-1", 60s, lease, held).ok());
  REQUIRE(total({}) == 4);

  CHECK(batch(2000, 100).removed == 2);
  CHECK(total({}) == 2);
  CHECK(total({std::nullopt, "", {"red"}}) == 2);
  CHECK(total({std::nullopt, "", {"blue"}}) == 0);
  CHECK(total({exv1::EXECUTION_COMPLETED, "", {}}) == 1);
  CHECK(total({exv1::EXECUTION_COMPLETED, "", {"red"}}) == 1);
  CHECK(total({exv1::EXECUTION_PENDING, "", {"red"}}) == 1);
  CHECK(rows("execution_tags") == 2);  // young_red's and live_red's
  CHECK(rows("leases") == 1);          // the live one keeps its lease
  CHECK(exists(young_red));
}

TEST_CASE_FIXTURE(Fixture, "an idempotency key of a deleted execution is free again, as after a delete call") {
  const Idempotency key{"retry-me", "fingerprint-1", 24h};
  const std::string id = created({}, &key);
  push(id, exv1::EXECUTION_FAILED);
  CHECK(created({}, &key) == id);  // still there: the key answers with it
  db->query("UPDATE executions SET ended_ms=1000 WHERE id=?").bind(id).run();
  REQUIRE(batch(2000, 100).removed == 1);
  const std::string again = created({}, &key);
  CHECK(again != id);
  CHECK(exists(again));
}
