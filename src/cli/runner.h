// Runner: `aexctl runner`. Holds one claim stream to aexd (aexd.v1.ExecutionDispatch) and runs each
// assigned execution as `/bin/sh -c CMD` on a thread of its own, which pumps the child's pipes and
// pushes the execution's status with updateStatus; so a slow push never holds up the stream.
// Threads: run() on the caller's thread (it reads the stream and starts and joins the execution
// threads); stop() and kill() from any other thread (aexctl's signal thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aexd/v1/dispatch.grpc.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "cli/connection.h"

namespace aexd::cli {

struct RunnerOptions {
  std::string server = "127.0.0.1:7234";  // for the log: the connection is passed to Runner
  std::string runner_id;
  std::string command;
  int capacity = 1;
  std::vector<std::string> agent_ids;  // empty: any agent
  int lease_seconds = 0;               // 0: the server's default
  std::chrono::seconds grace{10};      // from SIGTERM to SIGKILL when a command is stopped
};

class Runner {
 public:
  Runner(RunnerOptions options, std::shared_ptr<const Connection> connection);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Claims and runs executions until stop(), reconnecting whenever the stream ends; then waits
  /// for the running executions to end and returns.
  void run();
  /// No more claims: ends the stream; run() returns once the running executions have ended.
  void stop();
  /// stop(), and also stops every running command (SIGTERM, SIGKILL after the grace; called again:
  /// SIGKILL at once) and gives up on final pushes that do not go through.
  void kill();

 private:
  class Execution;

  /// One claim stream, until it ends or stop() cancels it; `delivered` says if it carried any event.
  grpc::Status claim_once(bool& delivered);
  void on_assignment(const aexd::v1::Assignment& assignment);
  void on_control(const aexd::v1::Control& control);
  void release(const std::string& execution_id, const std::string& lease_id);
  /// Called by an execution's thread as its last act.
  void finished(const std::string& execution_id);
  /// Joins the threads of executions that have finished.
  void join_finished();

  const RunnerOptions options_;
  const std::shared_ptr<const Connection> connection_;
  std::unique_ptr<aexd::v1::ExecutionDispatch::Stub> dispatch_;
  std::unique_ptr<ai::stigmer::agentic::agentexecution::v1::AgentExecutionCommandController::Stub> commands_;

  std::mutex mutex_;
  std::condition_variable changed_;  // stopping_, running_ or finished_ changed
  bool stopping_ = false;
  grpc::ClientContext* claim_context_ = nullptr;  // the open stream's, for stop() to cancel it
  std::map<std::string, std::unique_ptr<Execution>> running_;
  std::vector<std::unique_ptr<Execution>> finished_;  // their threads are ending, not yet joined
};

}  // namespace aexd::cli
