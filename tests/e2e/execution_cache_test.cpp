// get and subscribe answer from the in-memory execution cache when they can; these tests hold
// them to the same answers the database gives, with the cache on, off and too small.
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/thread_failures.h"

using namespace aexd;
using namespace aexd::test;

namespace {

ExecutionStatus in_progress(const std::string& note) {
  ExecutionStatus s;
  s.set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* m = s.add_messages();
  m->set_type(exv1::MESSAGE_AI);
  m->set_content(note);
  return s;
}

Options with_cache_mb(size_t mb) {
  Options o;
  o.cache_mb = mb;
  return o;
}

grpc::Status call_raw(const TestServer& server, const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(server.channel());
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::mutex m;
  std::condition_variable cv;
  std::optional<grpc::Status> result;
  stub.UnaryCall(&ctx, method, {}, &request, &response, [&](grpc::Status s) {
    std::lock_guard l(m);
    result = s;
    cv.notify_all();
  });
  std::unique_lock l(m);
  cv.wait(l, [&] { return result.has_value(); });
  return *result;
}

}  // namespace

TEST_CASE("get returns the newest acknowledged state, with the cache on, off, or smaller than the data") {
  size_t cache_mb = 64;
  SUBCASE("default cache") {}
  SUBCASE("no cache") { cache_mb = 0; }
  SUBCASE("a cache that holds only part of the executions") { cache_mb = 1; }
  TestServer server(with_cache_mb(cache_mb));
  Client api(server.channel());
  const auto agent = must(api.create(make_agent("Code Reviewer")));
  // 1,000 executions of ~2 KiB each: twice what a 1 MiB cache holds.
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i)
    ids.push_back(must(api.create(make_execution_for_agent(agent.metadata().id()))).metadata().id());
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string note = "round " + std::to_string(round) + " " + std::string(2000, 'x');
      const auto updated = must(api.update_status(ids[i], in_progress(note)));
      const auto got = must(api.get<Execution>(ids[i]));
      REQUIRE(same(got, updated));
    }
  }
  for (const auto& id : ids) {
    const auto got = must(api.get<Execution>(id));
    REQUIRE(got.metadata().version().id() == "3");
    REQUIRE(got.status().messages(0).content().rfind("round 1 ", 0) == 0);
  }
}

TEST_CASE("get of a deleted execution is NOT_FOUND even right after it was read") {
  TestServer server;
  Client api(server.channel());
  const auto agent = must(api.create(make_agent("Code Reviewer")));
  const auto created = must(api.create(make_execution_for_agent(agent.metadata().id())));
  must(api.get<Execution>(created.metadata().id()));
  must(api.remove<Execution>(created.metadata().id()));
  auto after = api.get<Execution>(created.metadata().id());
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("after a restart, get serves what the database holds, then every later change") {
  TestServer server;
  Client before(server.channel());
  const auto agent = must(before.create(make_agent("Code Reviewer")));
  const auto created = must(before.create(make_execution_for_agent(agent.metadata().id())));
  const auto updated = must(before.update_status(created.metadata().id(), in_progress("before restart")));
  server.restart();
  Client api(server.channel());
  CHECK(same(must(api.get<Execution>(created.metadata().id())), updated));
  const auto again = must(api.update_status(created.metadata().id(), in_progress("after restart")));
  CHECK(same(must(api.get<Execution>(created.metadata().id())), again));
}

TEST_CASE("gets racing status updates never see a revision go backwards") {
  TestServer server(with_cache_mb(1));
  Client api(server.channel());
  const auto agent = must(api.create(make_agent("Code Reviewer")));
  const auto id = must(api.create(make_execution_for_agent(agent.metadata().id()))).metadata().id();
  ThreadFailures failures;  // failed calls on the writer and reader threads, checked here after they end
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i)
      if (!failures.ok(api.update_status(id, in_progress("step " + std::to_string(i))).status(), "updateStatus")) break;
    writing = false;
  });
  std::vector<std::thread> readers;
  std::atomic<int> backwards{0};
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      Client own(server.new_channel());
      long last = 0;
      while (writing) {
        const auto got = own.get<Execution>(id);
        if (!failures.ok(got.status(), "get")) return;
        const long seen = std::stol(got->metadata().version().id());
        if (seen < last) ++backwards;
        last = seen;
      }
    });
  writer.join();
  for (auto& t : readers) t.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());
  CHECK(backwards == 0);
  CHECK(must(api.get<Execution>(id)).metadata().version().id() == "301");
}

TEST_CASE("get and subscribe of bytes that are not an AgentExecutionId are INVALID_ARGUMENT naming the request") {
  TestServer server;
  // Field 1 declared as a 5-byte string, with only 2 bytes following.
  const std::string truncated =
      "\x0a\x05"
      "ab";
  for (const std::string method : {"/ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController/get",
                                   "/ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController/subscribe"}) {
    CAPTURE(method);
    const auto status = call_raw(server, method, truncated);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().rfind("request: ", 0) == 0);
  }
}
