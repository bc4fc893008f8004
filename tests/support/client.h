// A typed test client over the real stubs (one call = one context with a deadline), a session chain
// built through it, and read-only row counts straight from the server's database.
#pragma once

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>  // Timestamp comparisons
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>

#include "domain/result.h"
#include "store/postgres/postgres_storage.h"
#include "support/requests.h"
#include "support/test_server.h"

namespace aexd::test {

/// Per kind: the services and id messages of its RPCs.
template <class T>
struct Rpc;
template <>
struct Rpc<Agent> {
  using Commands = agentv1::AgentCommandController;
  using Queries = agentv1::AgentQueryController;
  using GetId = agentv1::AgentId;
  using DeleteId = agentv1::AgentId;
};
template <>
struct Rpc<AgentInstance> {
  using Commands = instancev1::AgentInstanceCommandController;
  using Queries = instancev1::AgentInstanceQueryController;
  using GetId = instancev1::AgentInstanceId;
  using DeleteId = instancev1::AgentInstanceId;
};
template <>
struct Rpc<Session> {
  using Commands = sessionv1::SessionCommandController;
  using Queries = sessionv1::SessionQueryController;
  using GetId = sessionv1::SessionId;
  using DeleteId = sessionv1::SessionId;
};
template <>
struct Rpc<Execution> {
  using Commands = exv1::AgentExecutionCommandController;
  using Queries = exv1::AgentExecutionQueryController;
  using GetId = exv1::AgentExecutionId;
  using DeleteId = res::ApiResourceId;
};

/// Every RPC answers a value or the status explaining why not. Thread-safe (stubs are per call).
class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}

  template <class T>
  Result<T> create(const T& r) const {
    return call<T>([&](grpc::ClientContext* c, T* out) { return commands<T>()->create(c, r, out); });
  }
  /// An execution create sending the `idempotency-key` request header.
  Result<Execution> create(const Execution& r, const std::string& idempotency_key) const {
    return call<Execution>([&](grpc::ClientContext* c, Execution* out) {
      c->AddMetadata("idempotency-key", idempotency_key);
      return commands<Execution>()->create(c, r, out);
    });
  }
  template <class T>
  Result<T> apply(const T& r) const {
    return call<T>([&](grpc::ClientContext* c, T* out) { return commands<T>()->apply(c, r, out); });
  }
  template <class T>
  Result<T> update(const T& r) const {
    return call<T>([&](grpc::ClientContext* c, T* out) { return commands<T>()->update(c, r, out); });
  }
  template <class T>
  Result<T> get(const std::string& id) const {
    typename Rpc<T>::GetId request;
    request.set_value(id);
    return call<T>(
        [&](grpc::ClientContext* c, T* out) { return Rpc<T>::Queries::NewStub(channel_)->get(c, request, out); });
  }
  /// Agents and agent instances.
  template <class T>
  Result<T> get_by_reference(const res::ApiResourceReference& ref) const {
    return call<T>([&](grpc::ClientContext* c, T* out) {
      return Rpc<T>::Queries::NewStub(channel_)->getByReference(c, ref, out);
    });
  }
  template <class T>
  Result<T> remove(const std::string& id) const {
    typename Rpc<T>::DeleteId request;
    request.set_value(id);
    return call<T>([&](grpc::ClientContext* c, T* out) { return commands<T>()->delete_(c, request, out); });
  }
  Result<Execution> update_status(const std::string& execution_id, const ExecutionStatus& status) const {
    exv1::AgentExecutionUpdateStatusInput input;
    input.set_execution_id(execution_id);
    *input.mutable_status() = status;
    return update_status(input);
  }
  Result<Execution> update_status(const exv1::AgentExecutionUpdateStatusInput& input) const {
    return call<Execution>(
        [&](grpc::ClientContext* c, Execution* out) { return commands<Execution>()->updateStatus(c, input, out); });
  }
  Result<Execution> cancel(const std::string& execution_id, const std::string& reason) const {
    exv1::CancelAgentExecutionInput input;
    input.set_id(execution_id);
    input.set_reason(reason);
    return call<Execution>(
        [&](grpc::ClientContext* c, Execution* out) { return commands<Execution>()->cancel(c, input, out); });
  }
  Result<Execution> terminate(const std::string& execution_id, const std::string& reason) const {
    exv1::TerminateAgentExecutionInput input;
    input.set_id(execution_id);
    input.set_reason(reason);
    return call<Execution>(
        [&](grpc::ClientContext* c, Execution* out) { return commands<Execution>()->terminate(c, input, out); });
  }
  Result<Execution> pause(const std::string& execution_id) const {
    exv1::PauseAgentExecutionInput input;
    input.set_id(execution_id);
    return call<Execution>(
        [&](grpc::ClientContext* c, Execution* out) { return commands<Execution>()->pause(c, input, out); });
  }
  Result<exv1::AgentExecutionList> list_executions(const exv1::ListAgentExecutionsRequest& request = {}) const {
    return call<exv1::AgentExecutionList>([&](grpc::ClientContext* c, exv1::AgentExecutionList* out) {
      return Rpc<Execution>::Queries::NewStub(channel_)->list(c, request, out);
    });
  }
  Result<Execution> resume(const std::string& execution_id) const {
    exv1::ResumeAgentExecutionInput input;
    input.set_id(execution_id);
    return call<Execution>(
        [&](grpc::ClientContext* c, Execution* out) { return commands<Execution>()->resume(c, input, out); });
  }

 private:
  template <class T>
  std::unique_ptr<typename Rpc<T>::Commands::Stub> commands() const {
    return Rpc<T>::Commands::NewStub(channel_);
  }
  template <class T, class Invoke>
  static Result<T> call(Invoke invoke) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    T out;
    grpc::Status status = invoke(&context, &out);
    if (!status.ok()) return status;
    return out;
  }

  std::shared_ptr<grpc::Channel> channel_;
};

inline std::string describe(const grpc::Status& status) {
  std::ostringstream out;
  out << "code " << status.error_code() << ": " << status.error_message();
  return out.str();
}

/// The value of a call that must succeed (fails the test case otherwise). On the test thread only:
/// a REQUIRE on any other thread terminates the run; record failures in a ThreadFailures there.
template <class T>
T must(Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), describe(result.status()));
  return std::move(*result);
}

inline bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

/// An agent with an instance and a session on it: what session-mode executions need.
struct SessionChain {
  Agent agent;
  AgentInstance instance;
  Session session;
};

inline SessionChain make_chain(const Client& api, const std::string& agent_name) {
  SessionChain chain;
  chain.agent = must(api.create(make_agent(agent_name)));
  chain.instance = must(api.create(make_instance(chain.agent.metadata().id(), agent_name + " instance")));
  chain.session = must(api.create(make_session(chain.instance.metadata().id())));
  return chain;
}

/// Appends two fields this server's protos do not know, as a newer client would send them.
inline void add_future_fields(google::protobuf::Message& m, int first_number) {
  auto* unknown = m.GetReflection()->MutableUnknownFields(&m);
  unknown->AddVarint(first_number, 42);
  unknown->AddLengthDelimited(first_number + 1, "from a newer client");
}

/// The wire bytes of the unknown fields `m` carries.
inline std::string unknown_bytes(const google::protobuf::Message& m) {
  std::string out;
  m.GetReflection()->GetUnknownFields(m).SerializeToString(&out);
  return out;
}

/// Rows in `table` of the database at `path` (a SQLite file or a PostgreSQL URI: both schemas name
/// tables and columns alike) matching `where`, read-only (SQLite's WAL lets the server keep writing).
/// The wire API has no count, and a rolled-back write must leave no row at all.
inline int64_t count_rows(const std::string& path, const std::string& table, const std::string& where = "true") {
  const std::string sql = "SELECT count(*) FROM " + table + " WHERE " + where;
  if (store::postgres::is_postgres_uri(path)) return std::stoll(postgres_query(path, sql));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const int prepared = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  const int64_t n = prepared == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE_MESSAGE(n >= 0, sql);
  return n;
}

}  // namespace aexd::test
