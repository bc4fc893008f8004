// Many clients at once, over gRPC: 32 clients, each on its own connection, create, push status and
// read back for two seconds; no call fails and every execution ends in its last acknowledged state.
#include <algorithm>
#include <chrono>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

constexpr int kClients = 32;
constexpr int kShared = 4;
constexpr auto kLoadFor = std::chrono::seconds(2);

/// What one client saw: its own executions' last acknowledged states, every acknowledged update of
/// the shared executions, and the first failure (if any) with what it was doing.
struct ClientLog {
  std::map<std::string, Execution> own_last;
  std::vector<Execution> shared_acks;
  std::string failure;
  int rounds = 0;
};

ExecutionStatus progress(int client, int round) {
  ExecutionStatus s;
  s.set_phase(round % 2 == 0 ? exv1::EXECUTION_IN_PROGRESS : exv1::EXECUTION_WAITING_FOR_APPROVAL);
  auto* message = s.add_messages();
  message->set_type(exv1::MESSAGE_AI);
  message->set_content("client " + std::to_string(client) + " round " + std::to_string(round));
  return s;
}

/// One client's load loop: until the deadline, create an execution (alternating agent mode and
/// session mode), update its status, read it back, and update one of the shared executions.
void run_client(int client, const Client& api, const std::string& agent_id, const std::string& session_id,
                const std::vector<std::string>& shared, std::chrono::steady_clock::time_point until, ClientLog& log) {
  auto fail = [&](const std::string& what, const grpc::Status& status) {
    log.failure = what + ": " + describe(status);
  };
  for (int round = 0; std::chrono::steady_clock::now() < until; ++round) {
    const std::string text = "client " + std::to_string(client) + " round " + std::to_string(round);
    auto created = api.create(round % 2 == 0 ? make_execution_for_agent(agent_id, text)
                                             : make_execution_in_session(session_id, text));
    if (!created.ok()) return fail("create", created.status());
    const std::string id = created->metadata().id();

    auto updated = api.update_status(id, progress(client, round));
    if (!updated.ok()) return fail("updateStatus " + id, updated.status());
    log.own_last[id] = *updated;

    auto got = api.get<Execution>(id);
    if (!got.ok()) return fail("get " + id, got.status());
    if (!same(*got, *updated)) return fail("get " + id, grpc::Status(grpc::StatusCode::DATA_LOSS, "stale read"));

    auto shared_ack = api.update_status(shared[(client + round) % shared.size()], progress(client, round));
    if (!shared_ack.ok()) return fail("updateStatus shared", shared_ack.status());
    log.shared_acks.push_back(*shared_ack);
    log.rounds = round + 1;
  }
}

}  // namespace

TEST_CASE("32 concurrent clients creating, updating and reading executions see no error and consistent states") {
  TestServer server;
  Client setup(server.channel());
  auto chain = make_chain(setup, "Code Reviewer");
  const std::string& agent_id = chain.agent.metadata().id();
  std::vector<std::string> shared;
  for (int i = 0; i < kShared; ++i)
    shared.push_back(must(setup.create(make_execution_in_session(chain.session.metadata().id()))).metadata().id());

  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) {
    auto channel = server.new_channel();
    REQUIRE(channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    clients.emplace_back(channel);
  }
  std::vector<ClientLog> logs(kClients);
  std::latch start(kClients + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      run_client(i, clients[i], agent_id, chain.session.metadata().id(), shared,
                 std::chrono::steady_clock::now() + kLoadFor, logs[i]);
    });
  start.arrive_and_wait();
  for (auto& t : threads) t.join();

  size_t own = 0;
  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i);
    CHECK_MESSAGE(logs[i].failure.empty(), logs[i].failure);
    CHECK(logs[i].rounds > 0);
    own += logs[i].own_last.size();
  }
  MESSAGE(own << " executions created by " << kClients << " clients");

  // Every execution a client created ends in the state of its last acknowledged update.
  for (const auto& log : logs)
    for (const auto& entry : log.own_last) {  // no structured binding: clang 14 cannot capture one in CHECK
      const std::string& id = entry.first;
      CHECK_MESSAGE(same(must(setup.get<Execution>(id)), entry.second), id);
    }
  CHECK(count_rows(server.db_path(), "executions") == static_cast<int64_t>(own + kShared));

  // Each shared execution took every acknowledged update exactly once: revision 1 is the create, and
  // the acknowledged updates own 2..N+1 with no gap or duplicate; the final state is the newest one.
  std::map<std::string, std::vector<Execution>> acks;
  for (const auto& log : logs)
    for (const auto& ack : log.shared_acks) acks[ack.metadata().id()].push_back(ack);
  for (const auto& id : shared) {
    CAPTURE(id);
    auto& list = acks[id];
    REQUIRE_FALSE(list.empty());
    std::sort(list.begin(), list.end(), [](const Execution& a, const Execution& b) {
      return revision_of(a.metadata()) < revision_of(b.metadata());
    });
    for (size_t k = 0; k < list.size(); ++k) CHECK(revision_of(list[k].metadata()) == k + 2);
    CHECK(same(must(setup.get<Execution>(id)), list.back()));
  }

  // Agent-mode creates from every client shared one default instance (besides the chain's own).
  CHECK(count_rows(server.db_path(), "agent_instances") == 2);
}
