#include "bench/load.h"

#include <grpcpp/alarm.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "aexd/bench/v1/noop.grpc.pb.h"
#include "ai/stigmer/agentic/agent/v1/agent.grpc.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"

namespace aexd::bench {
namespace {

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;
namespace agentv1 = ai::stigmer::agentic::agent::v1;
namespace res = ai::stigmer::commons::apiresource;
using Clock = std::chrono::steady_clock;

struct Ticket {
  uint64_t number;
  bool warmup;
  Clock::time_point start;  // when its call may start: when it was taken, or its later --rps slot
};

/// The stubs of one channel; each channel is its own HTTP/2 connection. The unary workers use the
/// generic stub, so they send pre-encoded requests and leave the responses undecoded.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> generic;
  std::unique_ptr<exv1::AgentExecutionCommandController::Stub> commands;  // setup and subscribe
  std::unique_ptr<exv1::AgentExecutionQueryController::Stub> queries;     // subscribe
};

/// "/<service>/<method>", with the service's full name from the generated code.
template <class Service>
std::string method_path(const char* method) {
  return std::string("/") + Service::service_full_name() + "/" + method;
}
const std::string kNoop = method_path<::aexd::bench::v1::Noop>("call");
const std::string kCreate = method_path<exv1::AgentExecutionCommandController>("create");
const std::string kUpdateStatus = method_path<exv1::AgentExecutionCommandController>("updateStatus");
const std::string kGet = method_path<exv1::AgentExecutionQueryController>("get");
const std::string kList = method_path<exv1::AgentExecutionQueryController>("list");

grpc::ByteBuffer encode(const google::protobuf::MessageLite& message) {
  grpc::Slice bytes(message.SerializeAsString());
  return grpc::ByteBuffer(&bytes, 1);
}

/// What setup prepared; read-only while the load runs.
struct Scenario {
  std::vector<std::string> execution_ids;
  exv1::AgentExecutionUpdateStatusInput update_template;
  // The unary calls' requests, encoded once; a copy of a ByteBuffer shares its bytes.
  grpc::ByteBuffer noop, create, list;
  std::vector<grpc::ByteBuffer> get, update_status;  // one per execution id
};

class Worker;

/// Hands out tickets (pacing them with --rps), and tells the caller when every worker is done.
class Run {
 public:
  explicit Run(const LoadOptions& o) : o_(o) {}

  void start(const std::vector<Worker*>& workers);
  /// Called by a worker whose call just completed: gives it its next call, or retires it.
  void next(Worker* worker);
  /// Blocks until all workers are done. If nothing completes for longer than the call timeout,
  /// stops handing out tickets and calls `abort` once, so a lost stream message cannot hang the run.
  void wait(const std::function<void()>& abort);

 private:
  std::optional<Ticket> take();
  /// Runs on gRPC's executor when a worker's slot has come, or with !due once wait() cancelled it.
  void on_slot(Worker* worker, const Ticket& t, bool due);
  bool paced() const { return o_.rps > 0; }
  void retire();

  const LoadOptions& o_;
  std::vector<Worker*> workers_;
  Clock::time_point start_, measure_from_, end_;
  std::atomic<uint64_t> issued_{0}, measured_{0}, progress_{0};
  std::atomic<bool> stopping_{false};
  std::mutex m_;
  std::condition_variable cv_;
  size_t retired_ = 0;  // workers that will issue nothing more
  bool done_ = false;
};

class Worker {
 public:
  explicit Worker(Run& run) : run_(run) {}
  virtual ~Worker() = default;

  /// Starts one call that ends in complete(). Returns false when it failed at once (already
  /// recorded), so the caller takes the next ticket in a loop instead of recursing.
  virtual bool issue(const Ticket& ticket) = 0;
  virtual void abort() {}
  /// True once the worker cannot issue any more calls (its stream is gone).
  virtual bool finished() { return false; }

  const Summary& summary() const { return summary_; }
  std::optional<Clock::time_point> first_start, last_end;
  // Paced: the alarm that issues the worker's ticket at its slot. A fresh one per ticket, since
  // the previous one's callback may still be running (it issued the call that just completed).
  std::mutex alarm_m;
  std::optional<grpc::Alarm> alarm;

 protected:
  void record(const Ticket& t, Clock::time_point start, Clock::time_point end, const grpc::Status& status) {
    if (t.warmup) return;
    summary_.add(end - start, status);
    first_start = first_start ? std::min(*first_start, start) : start;
    last_end = last_end ? std::max(*last_end, end) : end;
  }
  void complete(const Ticket& t, Clock::time_point start, const grpc::Status& status) {
    record(t, start, Clock::now(), status);
    run_.next(this);
  }
  std::chrono::system_clock::time_point deadline(const LoadOptions& o) const {
    return std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::microseconds>(o.timeout);
  }

  Run& run_;

 private:
  Summary summary_;
};

void Run::start(const std::vector<Worker*>& workers) {
  workers_ = workers;
  start_ = Clock::now();
  measure_from_ = start_ + o_.warmup_duration;
  end_ = measure_from_ + o_.duration;
  for (Worker* w : workers_) next(w);
}

std::optional<Ticket> Run::take() {
  if (stopping_) return std::nullopt;
  const uint64_t n = issued_.fetch_add(1);
  // Tickets are numbered in order, so slot n keeps the aggregate rate at --rps; a slot already
  // past (the client fell behind) starts now.
  auto start = Clock::now();
  if (paced()) start = std::max(start, start_ + std::chrono::nanoseconds(static_cast<int64_t>(n * 1e9 / o_.rps)));
  const bool warm = n < o_.warmup_requests || start < measure_from_;
  if (o_.duration.count() > 0) {
    if (start >= end_) return std::nullopt;
  } else if (!warm && measured_.fetch_add(1) >= o_.total) {
    return std::nullopt;
  }
  return Ticket{n, warm, start};
}

void Run::next(Worker* worker) {
  progress_.fetch_add(1, std::memory_order_relaxed);
  while (!worker->finished()) {
    auto t = take();
    if (!t) break;
    if (t->start > Clock::now()) {
      std::lock_guard l(worker->alarm_m);
      // Under the lock, wait() either cancels this alarm or it is never set.
      if (stopping_) break;
      worker->alarm.emplace();
      worker->alarm->Set(std::chrono::system_clock::now() + (t->start - Clock::now()),
                         [this, worker, t = *t](bool due) { on_slot(worker, t, due); });
      return;
    }
    if (worker->issue(*t)) return;
  }
  retire();
}

void Run::on_slot(Worker* worker, const Ticket& t, bool due) {
  // The alarm may fire a little late: no call starts after the duration, as in unpaced runs.
  if (!due || stopping_ || (o_.duration.count() > 0 && Clock::now() >= end_)) {
    retire();
  } else if (!worker->issue(t)) {
    next(worker);
  }
}

void Run::retire() {
  std::lock_guard l(m_);
  if (++retired_ == workers_.size()) done_ = true;
  cv_.notify_all();
}

void Run::wait(const std::function<void()>& abort) {
  // A slow --rps leaves long quiet gaps that are not stalls.
  const auto gap = paced() ? std::chrono::nanoseconds(static_cast<int64_t>(2e9 / o_.rps)) : std::chrono::nanoseconds(0);
  const auto stall_limit = o_.timeout + std::chrono::seconds(5) + gap;
  uint64_t seen = progress_;
  auto last_change = Clock::now();
  bool aborted = false;
  std::unique_lock l(m_);
  while (!done_) {
    // A watchdog, not synchronisation: completion is signalled through cv_.
    cv_.wait_for(l, std::chrono::milliseconds(200));
    const auto now = Clock::now();
    if (progress_ != seen) {
      seen = progress_;
      last_change = now;
    } else if (!aborted && now - last_change > stall_limit) {
      aborted = true;
      stopping_ = true;
      l.unlock();
      // A pending alarm may be far ahead under a slow --rps; cancelled, it retires its worker.
      for (Worker* w : workers_) {
        std::lock_guard al(w->alarm_m);
        if (w->alarm) w->alarm->Cancel();
      }
      abort();
      l.lock();
    }
  }
}

exv1::AgentExecutionUpdateStatusInput update_template(size_t message_bytes) {
  exv1::AgentExecutionUpdateStatusInput in;
  in.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* message = in.mutable_status()->add_messages();
  message->set_type(exv1::MESSAGE_AI);
  message->set_timestamp("2024-01-01T00:00:00Z");
  std::string text;
  static const std::string kSentence = "The agent read the diff, ran the tests and is writing its review. ";
  while (text.size() < message_bytes) text += kSentence;
  text.resize(message_bytes);
  message->set_content(text);
  return in;
}

/// One call in flight at a time, of the scenario's kind (or, for mixed, of the ticket's share).
class UnaryWorker final : public Worker {
 public:
  UnaryWorker(Run& run, const LoadOptions& o, Connection& c, const Scenario& s) : Worker(run), o_(o), c_(c), s_(s) {}

  bool issue(const Ticket& t) override {
    const auto [method, request] = call_of(t.number);
    request_ = request;  // kept alive until the call completes
    response_.Clear();
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(deadline(o_));
    const auto start = Clock::now();
    c_.generic->UnaryCall(ctx_.get(), method, {}, &request_, &response_,
                          [this, t, start](grpc::Status status) { complete(t, start, status); });
    return true;
  }

 private:
  /// The method and pre-encoded request of ticket n; executions round-robin.
  std::pair<const std::string&, const grpc::ByteBuffer&> call_of(uint64_t n) const {
    switch (kind_of(n)) {
      case CallKind::noop:
        return {kNoop, s_.noop};
      case CallKind::create:
        return {kCreate, s_.create};
      case CallKind::update_status:
        return {kUpdateStatus, s_.update_status[n % s_.update_status.size()]};
      case CallKind::get:
        return {kGet, s_.get[n % s_.get.size()]};
      default:
        return {kList, s_.list};
    }
  }

  // mixed: per 10 tickets, 1 create, 6 updateStatus, 3 get.
  CallKind kind_of(uint64_t n) const {
    if (o_.call != CallKind::mixed) return o_.call;
    const uint64_t slot = n % 10;
    return slot == 0 ? CallKind::create : slot <= 6 ? CallKind::update_status : CallKind::get;
  }

  const LoadOptions& o_;
  Connection& c_;
  const Scenario& s_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  grpc::ByteBuffer request_, response_;  // the response is never decoded
};

/// Holds one subscribe stream open on its own execution. Each call is an updateStatus carrying a
/// marker; it completes when the stream delivers that state, and its latency runs from sending
/// the update to receiving it on the stream.
class SubscribeWorker final : public Worker, public grpc::ClientReadReactor<exv1::AgentExecution> {
 public:
  SubscribeWorker(Run& run, const LoadOptions& o, Connection& c, const Scenario& s, std::string execution_id)
      : Worker(run), o_(o), c_(c), update_(s.update_template) {
    update_.set_execution_id(execution_id);
    filler_ = update_.status().messages(0).content();
    request_.set_value(std::move(execution_id));
  }

  void open() {
    c_.queries->async()->subscribe(&stream_ctx_, &request_, this);
    StartRead(&incoming_);
    StartCall();
  }
  /// Until the initial snapshot arrived or the stream ended; false on timeout.
  bool wait_open(Clock::time_point until) {
    std::unique_lock l(m_);
    return cv_.wait_until(l, until, [this] { return opened_ || ended_; });
  }
  /// Ends the stream and waits for OnDone, after which the reactor is free.
  void close() {
    stream_ctx_.TryCancel();
    std::unique_lock l(m_);
    cv_.wait(l, [this] { return ended_; });
  }
  void abort() override { stream_ctx_.TryCancel(); }
  /// Done once the stream's end has been charged as this worker's error (even when it ended
  /// before the first round).
  bool finished() override {
    std::lock_guard l(m_);
    return ended_ && end_recorded_;
  }

  bool issue(const Ticket& t) override {
    std::unique_lock l(m_);
    const auto start = Clock::now();
    if (ended_) {  // between two rounds: the stream's end is this worker's one error
      end_recorded_ = true;
      const grpc::Status status = stream_status_;
      l.unlock();
      record(t, start, start, status);
      return false;
    }
    round_ = Round{};
    round_->ticket = t;
    round_->start = start;
    // Built piecewise: GCC 12 at -O3 warns falsely (-Wrestrict) on "#" + std::string.
    marker_.assign(1, '#');
    marker_ += std::to_string(t.number);
    marker_ += ' ';
    update_.mutable_status()->mutable_messages(0)->set_content(
        marker_ + filler_.substr(std::min(marker_.size(), filler_.size())));
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(deadline(o_));
    l.unlock();
    c_.commands->async()->updateStatus(ctx_.get(), &update_, &reply_, [this](grpc::Status status) {
      std::unique_lock l(m_);
      round_->replied = true;
      round_->reply_status = std::move(status);
      finish_round_if_over(l);
    });
    return true;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is over; OnDone says why
    std::unique_lock l(m_);
    if (!opened_) {
      opened_ = true;
      cv_.notify_all();
    } else if (round_ && !round_->received && incoming_.status().messages_size() > 0 &&
               incoming_.status().messages(0).content().starts_with(marker_)) {
      round_->received = true;
      round_->received_at = Clock::now();
    }
    StartRead(&incoming_);
    finish_round_if_over(l);
  }

  void OnDone(const grpc::Status& status) override {
    std::unique_lock l(m_);
    ended_ = true;
    stream_status_ = status.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "subscribe stream ended early") : status;
    cv_.notify_all();
    finish_round_if_over(l);
  }

 private:
  struct Round {
    Ticket ticket{};
    Clock::time_point start;
    bool replied = false, received = false;
    grpc::Status reply_status;
    Clock::time_point received_at;
  };

  void finish_round_if_over(std::unique_lock<std::mutex>& l) {
    if (!round_ || !round_->replied) return;
    if (!round_->received && round_->reply_status.ok() && !ended_) return;
    const Round r = *round_;
    round_.reset();
    const grpc::Status status = !r.reply_status.ok() ? r.reply_status : r.received ? grpc::Status::OK : stream_status_;
    if (!status.ok()) end_recorded_ = true;
    l.unlock();
    record(r.ticket, r.start, r.received ? r.received_at : Clock::now(), status);
    run_.next(this);
  }

  const LoadOptions& o_;
  Connection& c_;
  exv1::AgentExecutionId request_;
  exv1::AgentExecutionUpdateStatusInput update_;
  std::string filler_, marker_;
  exv1::AgentExecution incoming_, reply_;
  grpc::ClientContext stream_ctx_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::mutex m_;
  std::condition_variable cv_;
  bool opened_ = false, ended_ = false, end_recorded_ = false;
  grpc::Status stream_status_;
  std::optional<Round> round_;
};

[[noreturn]] void setup_failed(const std::string& what, const grpc::Status& status) {
  throw std::runtime_error("setup: " + what + " failed: " + code_name(status.error_code()) + ": " +
                           status.error_message());
}

/// Creates the agent and executions the scenario reads or writes, through ordinary calls.
Scenario set_up(const LoadOptions& o, Connection& c) {
  Scenario s;
  s.update_template = update_template(o.message_bytes);
  exv1::AgentExecutionId noop_id;
  noop_id.set_value("aex-bench-noop");
  s.noop = encode(noop_id);
  exv1::ListAgentExecutionsRequest list;
  list.set_page_size(50);
  s.list = encode(list);
  if (o.call == CallKind::noop) return s;

  auto call_options = [&](grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::microseconds>(o.timeout));
  };
  agentv1::Agent agent, created_agent;
  const auto unique = std::to_string(getpid()) + "-" + std::to_string(Clock::now().time_since_epoch().count());
  agent.mutable_metadata()->set_name("aexbench " + unique);
  agent.mutable_metadata()->set_owner_scope(res::organization);
  agent.mutable_metadata()->set_org("aexbench");
  agent.mutable_spec()->set_instructions("You review pull requests and explain what you found.");
  {
    grpc::ClientContext ctx;
    call_options(ctx);
    auto status = agentv1::AgentCommandController::NewStub(c.channel)->create(&ctx, agent, &created_agent);
    if (!status.ok()) setup_failed("creating agent", status);
  }

  exv1::AgentExecution create;
  create.mutable_metadata();
  create.mutable_spec()->set_agent_id(created_agent.metadata().id());
  create.mutable_spec()->set_message("Review pull request #42 and summarise the risks.");
  s.create = encode(create);

  // create needs one execution so the agent's default instance exists before timing starts.
  size_t wanted = o.executions > 0 ? static_cast<size_t>(o.executions) : std::max<size_t>(o.concurrency, 50);
  if (o.call == CallKind::create) wanted = 1;
  // subscribe: one execution per stream, so each stream sees only its own worker's updates.
  if (o.call == CallKind::subscribe) wanted = std::max<size_t>(o.executions, o.concurrency);
  while (s.execution_ids.size() < wanted) {
    grpc::ClientContext ctx;
    call_options(ctx);
    exv1::AgentExecution execution;
    auto status = c.commands->create(&ctx, create, &execution);
    if (!status.ok()) setup_failed("creating execution", status);
    s.execution_ids.push_back(execution.metadata().id());
  }
  for (const auto& id : s.execution_ids) {
    exv1::AgentExecutionId get;
    get.set_value(id);
    s.get.push_back(encode(get));
    auto update = s.update_template;
    update.set_execution_id(id);
    s.update_status.push_back(encode(update));
  }
  return s;
}

std::vector<Connection> connect(const LoadOptions& o) {
  // Several servers (a comma-separated list): connection i goes to server i % n.
  std::vector<std::string> hosts;
  for (size_t start = 0; start <= o.host.size();) {
    const size_t comma = std::min(o.host.find(',', start), o.host.size());
    hosts.push_back(o.host.substr(start, comma - start));
    start = comma + 1;
  }
  std::vector<Connection> connections;
  for (int i = 0; i < o.connections; ++i) {
    const std::string& host = hosts[static_cast<size_t>(i) % hosts.size()];
    // A local subchannel pool and a distinct argument keep gRPC from sharing one connection.
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    args.SetInt("aexbench.connection", i);
    args.SetMaxReceiveMessageSize(-1);  // replies carry the whole execution, as large as the server accepts
    Connection c;
    c.channel = auth::open_channel(host, o.security, args);
    if (!c.channel->WaitForConnected(std::chrono::system_clock::now() +
                                     std::chrono::duration_cast<std::chrono::microseconds>(o.timeout)))
      throw std::runtime_error("cannot connect to " + host);
    c.generic = std::make_unique<grpc::GenericStub>(c.channel);
    c.commands = exv1::AgentExecutionCommandController::NewStub(c.channel);
    c.queries = exv1::AgentExecutionQueryController::NewStub(c.channel);
    connections.push_back(std::move(c));
  }
  return connections;
}

}  // namespace

Summary run_load(const LoadOptions& o) {
  auto connections = connect(o);
  const Scenario scenario = set_up(o, connections[0]);

  Run run(o);
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<SubscribeWorker*> streams;
  for (int i = 0; i < o.concurrency; ++i) {
    Connection& c = connections[static_cast<size_t>(i) % connections.size()];
    if (o.call == CallKind::subscribe) {
      auto w = std::make_unique<SubscribeWorker>(run, o, c, scenario, scenario.execution_ids[static_cast<size_t>(i)]);
      streams.push_back(w.get());
      workers.push_back(std::move(w));
    } else {
      workers.push_back(std::make_unique<UnaryWorker>(run, o, c, scenario));
    }
  }
  for (auto* s : streams) s->open();
  const auto open_until = Clock::now() + o.timeout;
  for (auto* s : streams)
    if (!s->wait_open(open_until)) {
      for (auto* t : streams) t->close();
      throw std::runtime_error("setup: subscribe streams did not deliver their first message in time");
    }

  std::fprintf(stderr, "aexbench: setup done (%zu executions); running\n", scenario.execution_ids.size());
  std::vector<Worker*> raw;
  for (auto& w : workers) raw.push_back(w.get());
  run.start(raw);
  run.wait([&] {
    for (auto* w : raw) w->abort();
  });
  for (auto* s : streams) s->close();

  Summary summary;
  std::optional<Clock::time_point> first, last;
  for (auto& w : workers) {
    summary.merge(w->summary());
    if (w->first_start) first = first ? std::min(*first, *w->first_start) : *w->first_start;
    if (w->last_end) last = last ? std::max(*last, *w->last_end) : *w->last_end;
  }
  if (first && last) summary.total = *last - *first;
  return summary;
}

}  // namespace aexd::bench
