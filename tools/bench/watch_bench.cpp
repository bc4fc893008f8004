// aexd-watchbench: how fast a committed updateStatus reaches subscribers, and what an idle
// subscribe stream costs the server. Talks to a running aexd over gRPC (benchmark; prints figures).
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "bench/harness.h"
#include "bench/histogram.h"
#include "runtime/process_tuning.h"

namespace {

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;
using aexd::bench::check;
using aexd::bench::now_ns;

/// Counts, across all watchers, how many have received each revision, and when.
class Arrivals {
 public:
  void arrived(uint64_t revision, int64_t at_ns) {
    std::lock_guard lock(mutex_);
    if (revision >= times_.size()) times_.resize(revision + 1);
    times_[revision].push_back(at_ns);
    changed_.notify_all();
  }
  /// Waits until `n` arrivals of `revision` were seen; returns their times.
  std::vector<int64_t> wait(uint64_t revision, size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return revision < times_.size() && times_[revision].size() >= n; });
    return times_[revision];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<int64_t>> times_;
};

class Watcher final : public grpc::ClientReadReactor<exv1::AgentExecution> {
 public:
  Watcher(exv1::AgentExecutionQueryController::Stub& stub, const std::string& id, Arrivals& arrivals)
      : arrivals_(arrivals) {
    request_.set_value(id);
    stub.async()->subscribe(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    arrivals_.arrived(std::stoull(message_.metadata().version().id()), now_ns());
    StartRead(&message_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mutex_);
    done_ = true;
    finished_.notify_all();
  }
  void stop() {
    context_.TryCancel();
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [&] { return done_; });
  }

 private:
  Arrivals& arrivals_;
  grpc::ClientContext context_;
  exv1::AgentExecutionId request_;
  exv1::AgentExecution message_;
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
};

struct Target {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::string agent_id;

  Target(const std::string& host, int connections)
      : channels(aexd::bench::connect(host, connections)),
        agent_id(aexd::bench::create_agent(channels[0], "watchbench")) {}

  std::string create_execution() {
    exv1::AgentExecution e;
    e.mutable_metadata();
    e.mutable_spec()->set_agent_id(agent_id);
    e.mutable_spec()->set_message("watch me");
    grpc::ClientContext ctx;
    exv1::AgentExecution out;
    check(exv1::AgentExecutionCommandController::NewStub(channels[0])->create(&ctx, e, &out), "create execution");
    return out.metadata().id();
  }
};

void print(const char* label, const aexd::bench::Histogram& h) {
  std::printf("  %-28s n=%-7llu p50=%8.3f ms  p99=%8.3f ms  max=%8.3f ms\n", label,
              static_cast<unsigned long long>(h.count()), h.percentile(50) / 1e6, h.percentile(99) / 1e6,
              static_cast<double>(h.max()) / 1e6);
}

/// `executions` executions with `watchers` subscribers each; `rounds` updates of every execution,
/// one round at a time so no state is skipped.
/// Updates go through `writer` (another aexd on the same database, or the watchers' own).
void latency(Target& target, const std::shared_ptr<grpc::Channel>& writer, int executions, int watchers, int rounds) {
  std::vector<std::string> ids;
  for (int i = 0; i < executions; ++i) ids.push_back(target.create_execution());
  std::vector<std::unique_ptr<Arrivals>> arrivals;
  std::vector<std::unique_ptr<Watcher>> streams;
  std::vector<std::unique_ptr<exv1::AgentExecutionQueryController::Stub>> stubs;
  for (auto& channel : target.channels) stubs.push_back(exv1::AgentExecutionQueryController::NewStub(channel));
  for (int e = 0; e < executions; ++e) {
    arrivals.push_back(std::make_unique<Arrivals>());
    for (int w = 0; w < watchers; ++w)
      streams.push_back(std::make_unique<Watcher>(*stubs[streams.size() % stubs.size()], ids[e], *arrivals[e]));
  }
  for (auto& a : arrivals) a->wait(1, watchers);

  auto commands = exv1::AgentExecutionCommandController::NewStub(writer);
  aexd::bench::Histogram after_reply, after_call;
  for (int round = 0; round < rounds; ++round) {
    struct Call {
      grpc::ClientContext ctx;
      exv1::AgentExecutionUpdateStatusInput in;
      exv1::AgentExecution out;
      int64_t sent = 0;
      std::atomic<int64_t> replied{0};
    };
    std::vector<std::unique_ptr<Call>> calls;
    for (int e = 0; e < executions; ++e) {
      auto call = std::make_unique<Call>();
      call->in.set_execution_id(ids[e]);
      call->in.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
      call->in.mutable_status()->add_messages()->set_content("round " + std::to_string(round));
      call->sent = now_ns();
      Call* c = call.get();
      commands->async()->updateStatus(&c->ctx, &c->in, &c->out, [c](grpc::Status s) {
        check(s, "updateStatus");
        c->replied = now_ns();
      });
      calls.push_back(std::move(call));
    }
    const uint64_t revision = static_cast<uint64_t>(round) + 2;
    for (int e = 0; e < executions; ++e) {
      for (int64_t at : arrivals[e]->wait(revision, watchers)) {
        while (calls[e]->replied == 0) std::this_thread::yield();  // the reply may trail the push
        after_call.record(static_cast<uint64_t>(at - calls[e]->sent));
        after_reply.record(static_cast<uint64_t>(std::max<int64_t>(0, at - calls[e]->replied)));
      }
    }
  }
  std::printf("%d execution(s) x %d watcher(s), %d rounds:\n", executions, watchers, rounds);
  print("after the updateStatus reply", after_reply);
  print("after the updateStatus call", after_call);
  for (auto& s : streams) s->stop();
}

/// Server RSS growth per open, idle subscribe stream.
void idle_memory(Target& target, int streams, int server_pid) {
  const std::string id = target.create_execution();
  Arrivals arrivals;
  std::vector<std::unique_ptr<exv1::AgentExecutionQueryController::Stub>> stubs;
  for (auto& channel : target.channels) stubs.push_back(exv1::AgentExecutionQueryController::NewStub(channel));
  // Warm up the connections so their fixed cost is not charged to the streams.
  std::vector<std::unique_ptr<Watcher>> open;
  for (auto& stub : stubs) open.push_back(std::make_unique<Watcher>(*stub, id, arrivals));
  arrivals.wait(1, open.size());
  const long before = aexd::bench::rss_kib(server_pid);
  for (int i = 0; i < streams; ++i) open.push_back(std::make_unique<Watcher>(*stubs[i % stubs.size()], id, arrivals));
  arrivals.wait(1, open.size());
  const long after = aexd::bench::rss_kib(server_pid);
  std::printf("%d idle streams: server RSS %ld -> %ld KiB, %.2f KiB per stream\n", streams, before, after,
              static_cast<double>(after - before) / streams);
  for (auto& s : open) s->stop();
}

}  // namespace

int main(int argc, char** argv) {
  aexd::tune_process();
  std::string host = "127.0.0.1:7234", write_host;
  int connections = 4, executions = 1, watchers = 1, rounds = 100, idle = 0, pid = 0;
  CLI::App app{"aexd-watchbench: subscribe latency and idle-stream memory of a running aexd"};
  app.add_option("--host", host, "aexd address")->capture_default_str();
  app.add_option("--write-host", write_host,
                 "send the updates to this aexd instead (another process on the same PostgreSQL database)");
  app.add_option("--connections", connections, "client connections")->check(CLI::PositiveNumber);
  app.add_option("--executions", executions, "executions watched")->check(CLI::PositiveNumber);
  app.add_option("--watchers", watchers, "subscribers per execution")->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "updates per execution")->check(CLI::PositiveNumber);
  app.add_option("--idle-streams", idle, "instead: open this many idle streams and report server RSS per stream");
  app.add_option("--server-pid", pid, "pid of the aexd process (for --idle-streams)");
  CLI11_PARSE(app, argc, argv);

  Target target(host, connections);
  if (idle > 0) {
    if (pid <= 0) {
      std::fprintf(stderr, "aexd-watchbench: --idle-streams needs --server-pid\n");
      return 2;
    }
    idle_memory(target, idle, pid);
  } else {
    latency(target, write_host.empty() ? target.channels[0] : aexd::bench::connect(write_host, 1)[0], executions,
            watchers, rounds);
  }
  return 0;
}
