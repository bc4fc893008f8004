// A real aexd server in-process on 127.0.0.1:0 with a temporary database, and real gRPC stubs.
#pragma once

#include <doctest/doctest.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "api/services.h"
#include "app/server.h"
#include "domain/audit.h"

namespace aexd::test {

namespace agentv1 = ai::stigmer::agentic::agent::v1;
namespace instancev1 = ai::stigmer::agentic::agentinstance::v1;
namespace sessionv1 = ai::stigmer::agentic::session::v1;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aexd-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class TestServer {
 public:
  explicit TestServer(Options options = {}, OpenStorage open = open_storage)
      : options_(std::move(options)), open_(std::move(open)) {
    options_.listen = "127.0.0.1:0";
    options_.db = (dir_.path() / "aexd.db").string();
    start();
  }

  /// Stops the server and starts a new one on the same database (and a new port).
  void restart() {
    server_->shutdown();
    server_.reset();
    start();
  }
  Server& server() { return *server_; }
  const std::string& db_path() const { return options_.db; }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  /// A channel of its own (a separate HTTP/2 connection).
  std::shared_ptr<grpc::Channel> new_channel() const {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  std::unique_ptr<agentv1::AgentCommandController::Stub> agents() const {
    return agentv1::AgentCommandController::NewStub(channel_);
  }
  std::unique_ptr<agentv1::AgentQueryController::Stub> agent_queries() const {
    return agentv1::AgentQueryController::NewStub(channel_);
  }
  std::unique_ptr<instancev1::AgentInstanceCommandController::Stub> instances() const {
    return instancev1::AgentInstanceCommandController::NewStub(channel_);
  }
  std::unique_ptr<instancev1::AgentInstanceQueryController::Stub> instance_queries() const {
    return instancev1::AgentInstanceQueryController::NewStub(channel_);
  }
  std::unique_ptr<sessionv1::SessionCommandController::Stub> sessions() const {
    return sessionv1::SessionCommandController::NewStub(channel_);
  }
  std::unique_ptr<sessionv1::SessionQueryController::Stub> session_queries() const {
    return sessionv1::SessionQueryController::NewStub(channel_);
  }
  std::unique_ptr<exv1::AgentExecutionCommandController::Stub> executions() const {
    return exv1::AgentExecutionCommandController::NewStub(channel_);
  }
  std::unique_ptr<exv1::AgentExecutionQueryController::Stub> execution_queries() const {
    return exv1::AgentExecutionQueryController::NewStub(channel_);
  }

 private:
  void start() {
    auto started = Server::start(options_, open_);
    REQUIRE_MESSAGE(started.ok(), started.status().error_message());
    server_ = std::move(*started);
    channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

  TempDir dir_;
  Options options_;
  OpenStorage open_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

/// Builders for valid requests; tests change what they are about.
inline Agent make_agent(const std::string& name, res::ApiResourceOwnerScope scope = res::organization,
                        const std::string& org = "acme") {
  Agent a;
  a.mutable_metadata()->set_name(name);
  a.mutable_metadata()->set_owner_scope(scope);
  a.mutable_metadata()->set_org(org);
  a.mutable_spec()->set_instructions("You are a helpful agent.");
  return a;
}

inline Execution make_execution_for_agent(const std::string& agent_id, const std::string& message = "hello") {
  Execution e;
  e.mutable_metadata();
  e.mutable_spec()->set_agent_id(agent_id);
  e.mutable_spec()->set_message(message);
  return e;
}

inline Execution make_execution_in_session(const std::string& session_id, const std::string& message = "hello") {
  Execution e;
  e.mutable_metadata();
  e.mutable_spec()->set_session_id(session_id);
  e.mutable_spec()->set_message(message);
  return e;
}

}  // namespace aexd::test
