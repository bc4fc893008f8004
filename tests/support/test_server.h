// A real aexd server in-process on 127.0.0.1:0 with a database of its own (support/test_database.h),
// and its channels. Calls go through the typed Client (support/client.h); the few raw stubs here are
// for what it cannot express.
#pragma once

#include <doctest/doctest.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "api/services.h"
#include "app/server.h"
#include "auth/client_channel.h"
#include "domain/audit.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace aexd::test {

namespace agentv1 = ai::stigmer::agentic::agent::v1;
namespace instancev1 = ai::stigmer::agentic::agentinstance::v1;
namespace sessionv1 = ai::stigmer::agentic::session::v1;

class TestServer {
 public:
  explicit TestServer(Options options = {}, OpenStorage open = open_storage)
      : options_(std::move(options)), open_(std::move(open)) {
    options_.listen = "127.0.0.1:0";
    options_.db = test_database(dir_);
    start();
  }

  /// Stops the server and starts a new one on the same database (and a new port).
  void restart() {
    server_->shutdown();
    server_.reset();
    start();
  }
  /// As restart(), with other options on the same database.
  void restart(Options options) {
    options.listen = options_.listen;
    options.db = options_.db;
    options_ = std::move(options);
    restart();
  }
  Server& server() { return *server_; }
  /// The SQLite file's path, or the PostgreSQL database's URI.
  const std::string& db_path() const { return options_.db; }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  /// A channel of its own (a separate HTTP/2 connection).
  std::shared_ptr<grpc::Channel> new_channel() const {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  /// A channel of its own sending a bearer token and/or speaking TLS (options.auth_tokens, tls_*).
  std::shared_ptr<grpc::Channel> channel_as(const auth::ClientSecurity& security) const {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return auth::open_channel(address(), security, args);
  }

  // Raw stubs, for what the typed Client (support/client.h) does not cover: lists read with their
  // response headers, asynchronous calls and streams.
  std::unique_ptr<instancev1::AgentInstanceQueryController::Stub> instance_queries() const {
    return instancev1::AgentInstanceQueryController::NewStub(channel_);
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

}  // namespace aexd::test
