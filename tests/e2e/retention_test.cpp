// --retain-terminal over gRPC: a server with a short retention deletes the executions that ended
// longer ago than that, and only those, while other writes go on; after a restart it deletes
// what expired while it was down. Every wait polls a real condition with a deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/thread_failures.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRetain = 1500ms;
// Wall clock (which stamps ends and cutoffs) and steady clock (which the test reads) may drift apart
// by a slew this small over a few seconds.
constexpr auto kClockSlack = 20ms;

Options retaining(std::chrono::milliseconds retain) {
  Options options;
  options.retain_terminal = retain;
  return options;
}

Execution tagged_in(const Session& session, const std::string& tag) {
  Execution e = make_execution_in_session(session.metadata().id());
  e.mutable_metadata()->add_tags(tag);
  return e;
}

/// Waits until `done` holds, polling; false at the deadline.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within = 20s) {
  const auto deadline = Clock::now() + within;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// total_pages of a one-entry page: the number of executions matching.
int32_t count(const TestServer& server, std::optional<Phase> phase = std::nullopt, const std::string& tag = "") {
  exv1::ListAgentExecutionsRequest request;
  request.set_page_size(1);
  if (phase) request.set_phase(*phase);
  if (!tag.empty()) request.add_tags(tag);
  exv1::AgentExecutionList page;
  grpc::ClientContext ctx;
  const auto status = server.execution_queries()->list(&ctx, request, &page);
  REQUIRE_MESSAGE(status.ok(), describe(status));
  return page.total_pages();
}

grpc::StatusCode code_of_get(const Client& api, const std::string& id) {
  return api.get<Execution>(id).status().error_code();
}

ExecutionStatus with_phase(Phase phase) {
  ExecutionStatus s;
  s.set_phase(phase);
  return s;
}

}  // namespace

TEST_CASE("retention deletes exactly the executions that ended longer ago, while other writes go on") {
  TestServer server(retaining(kRetain));
  Client api(server.channel());
  const auto chain = make_chain(api, "retention");

  std::vector<std::string> kept;
  for (int i = 0; i < 4; ++i) kept.push_back(must(api.create(tagged_in(chain.session, "old"))).metadata().id());
  struct Ended {
    std::string id;
    Clock::time_point before;  // just before the call that ended it
  };
  std::vector<Ended> ended;
  auto end_one = [&](const std::function<Result<Execution>(const std::string&)>& how) {
    const std::string id = must(api.create(tagged_in(chain.session, "old"))).metadata().id();
    must(api.get<Execution>(id));  // in the cache now: a get after the delete must not be served from it
    const auto before = Clock::now();
    must(how(id));
    ended.push_back({id, before});
  };

  // A writer that keeps creating and updating executions that stay unfinished throughout.
  ThreadFailures failures;
  std::atomic<bool> stop{false};
  std::mutex written_mutex;
  std::vector<std::string> written;
  std::thread writer([&] {
    Client own(server.new_channel());
    while (!stop) {
      auto created = own.create(tagged_in(chain.session, "new"));
      if (!failures.ok(created.status(), "writer create")) return;
      const std::string id = created->metadata().id();
      if (!failures.ok(own.update_status(id, with_phase(exv1::EXECUTION_IN_PROGRESS)).status(), "writer update"))
        return;
      std::lock_guard lock(written_mutex);
      written.push_back(id);
    }
  });

  end_one([&](const std::string& id) { return api.cancel(id, "not needed"); });
  end_one([&](const std::string& id) { return api.terminate(id, "stop"); });
  end_one([&](const std::string& id) { return api.update_status(id, with_phase(exv1::EXECUTION_COMPLETED)); });
  end_one([&](const std::string& id) { return api.update_status(id, with_phase(exv1::EXECUTION_FAILED)); });
  end_one([&](const std::string& id) { return api.cancel(id, "again"); });

  for (const auto& e : ended) {
    CAPTURE(e.id);
    CHECK(eventually([&] { return code_of_get(api, e.id) == grpc::StatusCode::NOT_FOUND; }));
    // Not before its time: the end was committed after `before`.
    CHECK(Clock::now() - e.before >= kRetain - kClockSlack);
  }
  stop = true;
  writer.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());

  CHECK(written.size() > 0);
  for (const auto& id : kept) CHECK(must(api.get<Execution>(id)).status().phase() == exv1::EXECUTION_PENDING);
  for (const auto& id : written) CHECK(must(api.get<Execution>(id)).status().phase() == exv1::EXECUTION_IN_PROGRESS);
  const auto unfinished = static_cast<int32_t>(kept.size() + written.size());
  CHECK(count(server) == unfinished);
  CHECK(count(server, std::nullopt, "old") == static_cast<int32_t>(kept.size()));
  CHECK(count(server, std::nullopt, "new") == static_cast<int32_t>(written.size()));
  for (const Phase phase :
       {exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED, exv1::EXECUTION_TERMINATED})
    CHECK(count(server, phase) == 0);
  CHECK(count_rows(server.db_path(), "execution_tags", "tag = 'old'") == static_cast<int64_t>(kept.size()));
  CHECK(count_rows(server.db_path(), "executions", "ended_ms IS NOT NULL") == 0);
}

TEST_CASE("after a restart, retention deletes what ended before it, on time, with no new write to wake it") {
  TestServer server;  // retention off: nothing is deleted yet
  Client api(server.channel());
  const auto chain = make_chain(api, "retention");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(must(api.create(make_execution_in_session(chain.session.metadata().id()))).metadata().id());
  const auto before = Clock::now();
  must(api.cancel(ids[0], "done"));
  must(api.update_status(ids[1], with_phase(exv1::EXECUTION_COMPLETED)));

  SUBCASE("ended less than the retention ago: deleted once it has passed") {
    server.restart(retaining(kRetain));
    Client again(server.channel());
    CHECK(eventually([&] { return code_of_get(again, ids[0]) == grpc::StatusCode::NOT_FOUND; }));
    CHECK(eventually([&] { return code_of_get(again, ids[1]) == grpc::StatusCode::NOT_FOUND; }));
    CHECK(Clock::now() - before >= kRetain - kClockSlack);
    CHECK(code_of_get(again, ids[2]) == grpc::StatusCode::OK);
    CHECK(code_of_get(again, ids[3]) == grpc::StatusCode::OK);
    CHECK(count(server) == 2);
  }
  SUBCASE("ended longer ago than the retention: deleted at start-up") {
    server.restart(retaining(1ms));
    Client again(server.channel());
    CHECK(eventually([&] { return count(server) == 2; }));
    CHECK(code_of_get(again, ids[0]) == grpc::StatusCode::NOT_FOUND);
    CHECK(code_of_get(again, ids[1]) == grpc::StatusCode::NOT_FOUND);
    CHECK(code_of_get(again, ids[2]) == grpc::StatusCode::OK);
    CHECK(code_of_get(again, ids[3]) == grpc::StatusCode::OK);
  }
}
