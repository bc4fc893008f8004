// aexd-dispatchbench: what dispatch (aexd.v1.ExecutionDispatch) costs, measured against a running
// aexd over gRPC (benchmark; prints figures). --scenario:
//   delay       creates at a fixed rate (open loop); R runners note the time from the create being
//               sent (stamped into spec.message) to its assignment arriving, and complete each at once;
//               checks that every execution was assigned exactly once.
//   throughput  executions/s run end to end (create, assignment, --updates status pushes ending in
//               COMPLETED) by R runners fed by C creators, against creates/s of the same C creators
//               with no runner, in interleaved rounds; medians and the median of the rounds' ratios.
//   memory      server RSS (--server-pid) per execution held under lease.
// Every scenario, and every round, has an agent of its own, and its runners claim only that agent.
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aexd/v1/dispatch.grpc.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "bench/harness.h"
#include "bench/histogram.h"
#include "runtime/process_tuning.h"

namespace {

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;
namespace dv1 = aexd::v1;
using aexd::bench::check;
using aexd::bench::fail;
using aexd::bench::Histogram;
using aexd::bench::now_ns;
using namespace std::chrono_literals;

constexpr auto kCallDeadline = 30s;    // every unary call
constexpr auto kStreamDeadline = 10s;  // a claim stream answering its headers, or ending once cancelled

std::chrono::system_clock::time_point deadline() { return std::chrono::system_clock::now() + kCallDeadline; }

struct Options {
  std::string server = "127.0.0.1:7234";
  std::string scenario = "all";
  int connections = 4;
  int runners = 10;
  int capacity = 100;
  int creators = 32;
  int window = 0;  // 0: twice the runners' total capacity
  int updates = 5;
  int rounds = 5;
  double rate = 1000;
  double duration_s = 10;
  double round_s = 5;
  double warmup_s = 1;
  double settle_s = 30;
  int held = 10000;
  int server_pid = 0;
};

/// The stubs of one connection.
struct Link {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<exv1::AgentExecutionCommandController::Stub> commands;
  std::unique_ptr<dv1::ExecutionDispatch::Stub> dispatch;
};

struct Server {
  std::vector<Link> links;

  Server(const std::string& host, int connections) {
    for (auto& channel : aexd::bench::connect(host, connections))
      links.push_back(
          {channel, exv1::AgentExecutionCommandController::NewStub(channel), dv1::ExecutionDispatch::NewStub(channel)});
  }
  Link& link(size_t i) { return links[i % links.size()]; }
};

/// The create's send time travels in the execution's message, so each assignment carries its own.
constexpr std::string_view kStamp = "dispatchbench sent_ns=";

int64_t sent_ns_of(const exv1::AgentExecution& execution) {
  const std::string& m = execution.spec().message();
  if (m.rfind(kStamp, 0) != 0) return -1;
  int64_t sent = -1;
  std::from_chars(m.data() + kStamp.size(), m.data() + m.size(), sent);
  return sent;
}

exv1::AgentExecution execution_of(const std::string& agent_id) {
  exv1::AgentExecution e;
  e.mutable_metadata();
  e.mutable_spec()->set_agent_id(agent_id);
  e.mutable_spec()->set_message(std::string(kStamp) + std::to_string(now_ns()));
  return e;
}

grpc::Status create_execution(Link& link, const std::string& agent_id, std::string* id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline());
  exv1::AgentExecution out;
  auto status = link.commands->create(&ctx, execution_of(agent_id), &out);
  *id = out.metadata().id();
  return status;
}

grpc::Status cancel_execution(Link& link, const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline());
  exv1::CancelAgentExecutionInput in;
  in.set_id(id);
  in.set_reason("dispatchbench cleanup");
  exv1::AgentExecution out;
  return link.commands->cancel(&ctx, in, &out);
}

/// A fresh agent whose default instance exists already (an agent's first create makes it), so no
/// measured create pays for that; the warm-up execution is cancelled before any runner claims.
std::string prepared_agent(Server& server, const std::string& name) {
  const std::string agent = aexd::bench::create_agent(server.link(0).channel, name);
  std::string warm;
  check(create_execution(server.link(0), agent, &warm), "create warm-up execution");
  check(cancel_execution(server.link(0), warm), "cancel warm-up execution");
  return agent;
}

/// Creates an execution without blocking; `done` gets the outcome on gRPC's callback thread.
void create_async(Link& link, const std::string& agent_id,
                  std::function<void(const grpc::Status&, const std::string& id, int64_t sent, int64_t replied)> done) {
  struct Call {
    grpc::ClientContext ctx;
    exv1::AgentExecution in, out;
    int64_t sent = 0;
  };
  auto* call = new Call;
  call->ctx.set_deadline(deadline());
  call->in = execution_of(agent_id);
  call->sent = now_ns();
  link.commands->async()->create(&call->ctx, &call->in, &call->out, [call, done = std::move(done)](grpc::Status s) {
    done(s, call->out.metadata().id(), call->sent, now_ns());
    delete call;
  });
}

/// Runs an assigned execution as a runner would, never blocking the caller: `updates` status pushes
/// one after the other, each resending the whole status: IN_PROGRESS, then IN_PROGRESS with one more
/// message each, the last one COMPLETED (a single update is just COMPLETED). `done` gets the last
/// push's status, or the first failed one's, on gRPC's callback thread.
class Job {
 public:
  static void start(Link& link, std::string id, int updates, std::function<void(const grpc::Status&)> done) {
    (new Job(link, std::move(id), updates, std::move(done)))->push();
  }

 private:
  Job(Link& link, std::string id, int updates, std::function<void(const grpc::Status&)> done)
      : link_(link), updates_(updates), done_(std::move(done)) {
    in_.set_execution_id(std::move(id));
  }

  void push() {
    const bool last = step_ + 1 == updates_;
    auto& status = *in_.mutable_status();
    status.set_phase(last ? exv1::EXECUTION_COMPLETED : exv1::EXECUTION_IN_PROGRESS);
    if (step_ > 0 && !last) {
      auto& message = *status.add_messages();
      message.set_type(exv1::MESSAGE_AI);
      message.set_content("Step " + std::to_string(step_) + ": read the diff, ran the tests, wrote a note.");
    }
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(deadline());
    link_.commands->async()->updateStatus(ctx_.get(), &in_, &out_, [this](grpc::Status s) {
      if (!s.ok() || ++step_ == updates_) {
        done_(s);
        delete this;
      } else {
        push();
      }
    });
  }

  Link& link_;
  const int updates_;
  int step_ = 0;
  std::function<void(const grpc::Status&)> done_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  exv1::AgentExecutionUpdateStatusInput in_;
  exv1::AgentExecution out_;
};

/// One runner's claim stream. `on_assignment` runs on gRPC's callback thread, one assignment at a
/// time per stream, and must not block: it copies what it needs and starts asynchronous calls.
class Runner final : public grpc::ClientReadReactor<dv1::DispatchEvent> {
 public:
  using Handler = std::function<void(Link&, const dv1::Assignment&, int64_t received_ns)>;

  Runner(Link& link, dv1::ClaimRequest request, Handler on_assignment)
      : link_(link), request_(std::move(request)), on_assignment_(std::move(on_assignment)) {
    link.dispatch->async()->claim(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadInitialMetadataDone(bool) override {
    std::lock_guard lock(mutex_);
    headers_ = true;
    changed_.notify_all();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (event_.has_assignment()) on_assignment_(link_, event_.assignment(), now_ns());
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  }

  /// Waits for the headers, which the server sends once it has registered the claim.
  void wait_registered() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, kStreamDeadline, [&] { return headers_ || done_; }))
      fail("claim of " + request_.runner_id() + ": no headers after 10 s");
    if (done_) fail("claim of " + request_.runner_id() + " ended: " + status_.error_message());
  }
  /// Cancels the stream and waits for its end; says so if the server had ended it before.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (done_)
        std::printf("  note: claim stream of %s had ended: %d %s\n", request_.runner_id().c_str(),
                    static_cast<int>(status_.error_code()), status_.error_message().c_str());
    }
    context_.TryCancel();
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, kStreamDeadline, [&] { return done_; }))
      fail("claim stream of " + request_.runner_id() + " did not end after a cancel");
  }

 private:
  Link& link_;
  grpc::ClientContext context_;
  dv1::ClaimRequest request_;
  dv1::DispatchEvent event_;
  Handler on_assignment_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool headers_ = false, done_ = false;
  grpc::Status status_;
};

using Runners = std::vector<std::unique_ptr<Runner>>;

Runners open_runners(Server& server, const Options& o, const std::string& agent_id, int capacity, int lease_seconds,
                     const Runner::Handler& handler) {
  Runners runners;
  for (int r = 0; r < o.runners; ++r) {
    dv1::ClaimRequest claim;
    claim.set_runner_id("dispatchbench-" + agent_id + "-" + std::to_string(r));  // a fresh owner per agent
    claim.set_capacity(capacity);
    claim.add_agent_ids(agent_id);
    claim.set_lease_seconds(lease_seconds);
    runners.push_back(std::make_unique<Runner>(server.link(r), std::move(claim), handler));
  }
  for (auto& runner : runners) runner->wait_registered();
  return runners;
}

void stop(Runners& runners) {
  for (auto& runner : runners) runner->stop();
  runners.clear();
}

/// What one measurement's creators and runners saw. Guarded by `mutex`, waited on through `changed`.
struct Ledger {
  struct Assigned {
    int times = 0;
    int64_t first_ns = 0;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::unordered_map<std::string, int64_t> created;  // acknowledged creates: id → reply time
  std::unordered_map<std::string, Assigned> assigned;
  uint64_t create_failed = 0, assignments = 0, later_attempts = 0;
  uint64_t created_assigned = 0;     // created executions assigned at least once
  uint64_t ran = 0, run_failed = 0;  // executions whose pushes all succeeded / one failed
  std::string first_error;
  Histogram create_latency, delay;

  void error(const grpc::Status& s, const char* what) {
    if (first_error.empty()) first_error = std::string(what) + ": " + s.error_message();
  }
  /// Records a create's outcome. Needs `mutex`.
  void on_created(const grpc::Status& s, const std::string& id, int64_t replied_ns) {
    if (s.ok()) {
      if (created.emplace(id, replied_ns).second && assigned.count(id)) ++created_assigned;
    } else {
      ++create_failed;
      error(s, "create");
    }
    changed.notify_all();
  }
  /// Records an assignment. Needs `mutex`.
  void on_assigned(const dv1::Assignment& a, int64_t at_ns) {
    auto& entry = assigned[a.execution().metadata().id()];
    if (entry.times++ == 0) {
      entry.first_ns = at_ns;
      if (created.count(a.execution().metadata().id())) ++created_assigned;
    }
    ++assignments;
    if (a.attempt() != 1) ++later_attempts;
    changed.notify_all();
  }
  void on_ran(const grpc::Status& s) {
    std::lock_guard lock(mutex);
    if (s.ok()) {
      ++ran;
    } else {
      ++run_failed;
      error(s, "updateStatus");
    }
    changed.notify_all();
  }
  /// Waits (at most `limit`) until every assignment received so far has had all its pushes answered.
  bool wait_runs(std::chrono::nanoseconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return ran + run_failed >= assignments; });
  }
};

void print_latency(const char* label, const Histogram& h) {
  std::printf("  %-36s n=%-6llu p50=%7.3f  p90=%7.3f  p99=%7.3f  max=%7.3f ms\n", label,
              static_cast<unsigned long long>(h.count()), h.percentile(50) / 1e6, h.percentile(90) / 1e6,
              h.percentile(99) / 1e6, static_cast<double>(h.max()) / 1e6);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void delay(Server& server, const Options& o) {
  const uint64_t total = static_cast<uint64_t>(o.rate * o.duration_s);
  std::printf("delay: %d runners x capacity %d; %llu creates at %.0f/s (open loop); load average %s\n", o.runners,
              o.capacity, static_cast<unsigned long long>(total), o.rate, load_average().c_str());
  const std::string agent = prepared_agent(server, "dispatchbench delay");
  Ledger ledger;
  Runners runners =
      open_runners(server, o, agent, o.capacity, 0, [&](Link& link, const dv1::Assignment& a, int64_t at) {
        const int64_t sent = sent_ns_of(a.execution());
        {
          std::lock_guard lock(ledger.mutex);
          if (sent > 0) ledger.delay.record(static_cast<uint64_t>(at - sent));
          ledger.on_assigned(a, at);
        }
        Job::start(link, a.execution().metadata().id(), 1, [&](const grpc::Status& s) { ledger.on_ran(s); });
      });

  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / o.rate)));  // pacing
    create_async(server.link(i), agent,
                 [&](const grpc::Status& s, const std::string& id, int64_t sent, int64_t replied) {
                   std::lock_guard lock(ledger.mutex);
                   ledger.create_latency.record(static_cast<uint64_t>(replied - sent));
                   ledger.on_created(s, id, replied);
                 });
  }
  const double sending_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  {
    std::unique_lock lock(ledger.mutex);
    if (!ledger.changed.wait_for(lock, kCallDeadline + 5s,
                                 [&] { return ledger.created.size() + ledger.create_failed >= total; }))
      fail("creates still unanswered after their deadline");
    // Every created execution assigned; an assignment of something not created here would be counted too.
    ledger.changed.wait_for(lock, std::chrono::duration<double>(o.settle_s),
                            [&] { return ledger.created_assigned >= ledger.created.size(); });
  }
  if (!ledger.wait_runs(kCallDeadline + 5s)) fail("COMPLETED pushes still unanswered after their deadline");
  stop(runners);
  if (!ledger.wait_runs(kCallDeadline + 5s)) fail("COMPLETED pushes still unanswered after their deadline");

  std::lock_guard lock(ledger.mutex);
  uint64_t missing = 0, twice = 0, extra = 0, unknown = 0;
  Histogram after_reply;
  uint64_t before_reply = 0;
  for (const auto& [id, replied] : ledger.created) {
    auto it = ledger.assigned.find(id);
    if (it == ledger.assigned.end()) {
      ++missing;
      continue;
    }
    if (it->second.first_ns < replied) ++before_reply;
    after_reply.record(static_cast<uint64_t>(std::max<int64_t>(0, it->second.first_ns - replied)));
  }
  for (const auto& [id, a] : ledger.assigned) {
    if (a.times > 1) ++twice, extra += static_cast<uint64_t>(a.times - 1);
    if (!ledger.created.count(id)) ++unknown;
  }
  std::printf("  creates: %llu sent in %.2f s (%.1f/s), %zu OK, %llu failed\n", static_cast<unsigned long long>(total),
              sending_s, static_cast<double>(total) / sending_s, ledger.created.size(),
              static_cast<unsigned long long>(ledger.create_failed));
  std::printf(
      "  assignments: %llu received; %llu executions missing (waited up to %.0f s), %llu assigned "
      "more than once (%llu extra), %llu not created here, %llu with attempt > 1\n",
      static_cast<unsigned long long>(ledger.assignments), static_cast<unsigned long long>(missing), o.settle_s,
      static_cast<unsigned long long>(twice), static_cast<unsigned long long>(extra),
      static_cast<unsigned long long>(unknown), static_cast<unsigned long long>(ledger.later_attempts));
  std::printf("  COMPLETED pushes: %llu OK, %llu failed\n", static_cast<unsigned long long>(ledger.ran),
              static_cast<unsigned long long>(ledger.run_failed));
  print_latency("create call (send to reply)", ledger.create_latency);
  print_latency("create sent -> assignment received", ledger.delay);
  print_latency("create reply -> assignment received", after_reply);
  std::printf("  (%llu assignments arrived before their create's reply; counted as 0 above)\n",
              static_cast<unsigned long long>(before_reply));
  if (!ledger.first_error.empty()) std::printf("  first error: %s\n", ledger.first_error.c_str());
}

struct Round {
  double creates_per_s = 0, completed_per_s = 0;
};

/// One round of C creators in a closed loop for warm-up + round time, measured over the round
/// time. With runners (`dispatch`) at most `window` executions are outstanding (created, not yet
/// completed): the runners always find work queued, and the backlog left at the end, which is run
/// to completion before the round ends, stays small. Without, the round's executions are
/// cancelled afterwards so PENDING ones do not pile up in the server.
Round round(Server& server, const Options& o, bool dispatch) {
  const std::string agent = prepared_agent(server, dispatch ? "dispatchbench runs" : "dispatchbench creates");
  Ledger ledger;
  std::counting_semaphore<> window(o.window);
  std::atomic<int64_t> from{INT64_MAX}, until{INT64_MAX};
  std::atomic<uint64_t> created_in{0}, completed_in{0};
  auto within = [&](int64_t at) { return at >= from.load() && at < until.load(); };
  Runners runners;
  if (dispatch) {
    runners = open_runners(server, o, agent, o.capacity, 0, [&](Link& link, const dv1::Assignment& a, int64_t at) {
      {
        std::lock_guard lock(ledger.mutex);
        ledger.on_assigned(a, at);
      }
      Job::start(link, a.execution().metadata().id(), o.updates, [&](const grpc::Status& s) {
        if (s.ok() && within(now_ns())) ++completed_in;
        window.release();
        ledger.on_ran(s);
      });
    });
  }
  const int64_t start = now_ns();
  from = start + static_cast<int64_t>(o.warmup_s * 1e9);
  until = from + static_cast<int64_t>(o.round_s * 1e9);
  std::vector<std::thread> creators;
  for (int c = 0; c < o.creators; ++c) {
    creators.emplace_back([&, c] {
      Link& link = server.link(static_cast<size_t>(c));
      while (now_ns() < until) {
        if (dispatch) {
          while (!window.try_acquire_for(100ms))
            if (now_ns() >= until) return;
        }
        std::string id;
        const grpc::Status s = create_execution(link, agent, &id);
        const int64_t at = now_ns();
        if (s.ok() && within(at)) ++created_in;
        if (!s.ok() && dispatch) window.release();
        std::lock_guard lock(ledger.mutex);
        ledger.on_created(s, id, at);
      }
    });
  }
  for (auto& t : creators) t.join();

  Round result{static_cast<double>(created_in) / o.round_s, 0};
  if (dispatch) {
    {
      std::unique_lock lock(ledger.mutex);
      if (!ledger.changed.wait_for(lock, 60s, [&] { return ledger.ran + ledger.run_failed >= ledger.created.size(); }))
        std::printf("  %zu executions created, %llu run 60 s after the last create\n", ledger.created.size(),
                    static_cast<unsigned long long>(ledger.ran + ledger.run_failed));
    }
    stop(runners);
    if (!ledger.wait_runs(o.updates * kCallDeadline + 5s)) fail("status pushes still unanswered after their deadline");
    result.completed_per_s = static_cast<double>(completed_in) / o.round_s;
  } else {
    std::vector<std::string> ids;
    for (const auto& [id, replied] : ledger.created) ids.push_back(id);
    std::atomic<uint64_t> cancel_failed{0};
    std::vector<std::thread> cancellers;
    for (int c = 0; c < o.creators; ++c) {
      cancellers.emplace_back([&, c] {
        for (size_t i = static_cast<size_t>(c); i < ids.size(); i += static_cast<size_t>(o.creators))
          if (!cancel_execution(server.link(i), ids[i]).ok()) ++cancel_failed;
      });
    }
    for (auto& t : cancellers) t.join();
    if (cancel_failed > 0)
      std::printf("  note: %llu cleanup cancels failed\n", static_cast<unsigned long long>(cancel_failed.load()));
  }
  std::lock_guard lock(ledger.mutex);
  if (ledger.create_failed || ledger.run_failed || ledger.later_attempts)
    std::printf("  note: %llu creates failed, %llu runs failed, %llu assignments with attempt > 1; first error: %s\n",
                static_cast<unsigned long long>(ledger.create_failed),
                static_cast<unsigned long long>(ledger.run_failed),
                static_cast<unsigned long long>(ledger.later_attempts), ledger.first_error.c_str());
  return result;
}

void throughput(Server& server, const Options& o) {
  std::printf(
      "throughput: %d runners x capacity %d, %d creators, window %d, %d updates per execution; "
      "%d rounds of %.0f s (+%.0f s warm-up); load average %s\n",
      o.runners, o.capacity, o.creators, o.window, o.updates, o.rounds, o.round_s, o.warmup_s, load_average().c_str());
  std::vector<double> alone, creates, completed, ratios;
  for (int r = 1; r <= o.rounds; ++r) {
    const Round a = round(server, o, false);
    const Round d = round(server, o, true);
    alone.push_back(a.creates_per_s);
    creates.push_back(d.creates_per_s);
    completed.push_back(d.completed_per_s);
    ratios.push_back(a.creates_per_s > 0 ? d.completed_per_s / a.creates_per_s : 0);
    std::printf(
        "  round %d: create alone %8.1f creates/s | with runners %8.1f executions completed/s "
        "(%8.1f creates/s) | ratio %.3f\n",
        r, a.creates_per_s, d.completed_per_s, d.creates_per_s, ratios.back());
  }
  std::printf(
      "  median: create alone %.1f creates/s; with runners %.1f executions completed/s (%.1f creates/s); "
      "median ratio %.3f; load average %s\n",
      median(alone), median(completed), median(creates), median(ratios), load_average().c_str());
}

void memory(Server& server, const Options& o) {
  const int per_runner = (o.held + o.runners - 1) / o.runners;
  std::printf("memory: %d executions held by %d runners x capacity %d; load average %s\n", o.held, o.runners,
              per_runner, load_average().c_str());
  if (o.server_pid <= 0) {
    std::printf("  skipped: needs --server-pid\n");
    return;
  }
  if (per_runner > 1000) fail("more than 1000 held per runner: raise --runners");
  const std::string agent = prepared_agent(server, "dispatchbench memory");
  const long before = aexd::bench::rss_kib(o.server_pid);

  std::vector<std::string> ids(static_cast<size_t>(o.held));
  std::vector<std::thread> threads;
  for (int c = 0; c < o.creators; ++c) {
    threads.emplace_back([&, c] {
      for (size_t i = static_cast<size_t>(c); i < ids.size(); i += static_cast<size_t>(o.creators))
        check(create_execution(server.link(i), agent, &ids[i]), "create");
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  const long created = aexd::bench::rss_kib(o.server_pid);

  Ledger ledger;
  // A lease long enough not to lapse while the executions are held unstarted.
  Runners runners = open_runners(server, o, agent, per_runner, 3600, [&](Link&, const dv1::Assignment& a, int64_t at) {
    std::lock_guard lock(ledger.mutex);
    ledger.on_assigned(a, at);
  });
  {
    std::unique_lock lock(ledger.mutex);
    if (!ledger.changed.wait_for(lock, 120s, [&] { return ledger.assigned.size() >= ids.size(); }))
      fail(std::to_string(ledger.assigned.size()) + " of " + std::to_string(ids.size()) + " assigned after 120 s");
  }
  const long held = aexd::bench::rss_kib(o.server_pid);
  std::printf("  server RSS: %ld KiB before, %ld KiB with the executions created (PENDING), %ld KiB with all held\n",
              before, created, held);
  std::printf("  per execution created: %.0f bytes; per lease held: %.0f bytes; both: %.0f bytes\n",
              (created - before) * 1024.0 / o.held, (held - created) * 1024.0 / o.held,
              (held - before) * 1024.0 / o.held);
  {
    std::lock_guard lock(ledger.mutex);
    if (ledger.assignments != ids.size() || ledger.later_attempts)
      std::printf("  note: %llu assignments for %zu executions, %llu with attempt > 1\n",
                  static_cast<unsigned long long>(ledger.assignments), ids.size(),
                  static_cast<unsigned long long>(ledger.later_attempts));
  }
  // Cancel what is held (its runners get Control events), so nothing lapses later.
  for (int c = 0; c < o.creators; ++c) {
    threads.emplace_back([&, c] {
      for (size_t i = static_cast<size_t>(c); i < ids.size(); i += static_cast<size_t>(o.creators))
        check(cancel_execution(server.link(i), ids[i]), "cancel");
    });
  }
  for (auto& t : threads) t.join();
  stop(runners);
}

}  // namespace

int main(int argc, char** argv) {
  aexd::tune_process();
  Options o;
  CLI::App app{"aexd-dispatchbench: assignment delay, runner throughput and memory per lease of a running aexd"};
  app.add_option("--server", o.server, "aexd address")->capture_default_str();
  app.add_option("--scenario", o.scenario, "delay, throughput, memory or all")
      ->check(CLI::IsMember({"delay", "throughput", "memory", "all"}))
      ->capture_default_str();
  app.add_option("--connections", o.connections, "client connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--runners", o.runners, "claim streams")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--capacity", o.capacity, "executions each runner holds at once (delay, throughput)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "delay: creates per second")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--duration", o.duration_s, "delay: seconds of creating")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--settle", o.settle_s, "delay: seconds to wait for assignments after the last create")
      ->capture_default_str();
  app.add_option("--creators", o.creators, "throughput, memory: concurrent creates")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--window", o.window,
                 "throughput: most executions created and not yet completed (0: 2 x runners x capacity)");
  app.add_option("--updates", o.updates, "throughput: status pushes per execution, the last COMPLETED")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "throughput: pairs of rounds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--round-seconds", o.round_s, "throughput: measured seconds per round")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "throughput: seconds per round before measuring")->capture_default_str();
  app.add_option("--held", o.held, "memory: executions held")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "memory: pid of the aexd process");
  CLI11_PARSE(app, argc, argv);
  if (o.window <= 0) o.window = 2 * o.runners * o.capacity;

  Server server(o.server, o.connections);
  const bool all = o.scenario == "all";
  if (all || o.scenario == "delay") delay(server, o);
  if (all || o.scenario == "throughput") throughput(server, o);
  if (all || o.scenario == "memory") memory(server, o);
  return 0;
}
