#include "cli/runner.h"

#include <google/protobuf/util/time_util.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <exception>
#include <thread>

#include "cli/process.h"
#include "cli/status_batcher.h"

namespace aexd::cli {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPushInterval = 100ms;    // at most ~10 pushes per second per execution
constexpr auto kCallDeadline = 10s;      // of each updateStatus and release
constexpr auto kFinalPushBudget = 5min;  // after that, the server's lease lapse ends the execution
constexpr size_t kStderrTail = 20;       // stderr lines a failure's error carries

void log(const std::string& line) { std::fprintf(stderr, "aexctl: %s\n", line.c_str()); }

/// UTC, to the millisecond (protobuf's GetCurrentTime has whole seconds only, too coarse to order lines).
std::string now_rfc3339() {
  using google::protobuf::util::TimeUtil;
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return TimeUtil::ToString(
      TimeUtil::MillisecondsToTimestamp(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count()));
}

/// Worth repeating: the server is restarting, shedding load, or the call took too long (a final
/// push repeated exactly is accepted even if the first one went through).
bool transient(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

/// The execution is over on the server (cancelled, terminated, failed by a lapsed lease, deleted):
/// nothing more may be pushed.
bool ended_on_server(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
         status.error_code() == grpc::StatusCode::NOT_FOUND;
}

bool terminal(exv1::ExecutionPhase phase) {
  return phase == exv1::EXECUTION_COMPLETED || phase == exv1::EXECUTION_FAILED || phase == exv1::EXECUTION_CANCELLED ||
         phase == exv1::EXECUTION_TERMINATED;
}

std::string milliseconds(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// 200 ms, doubling up to 5 s.
class Backoff {
 public:
  Clock::duration next() { return std::exchange(next_, std::min<Clock::duration>(next_ * 2, 5s)); }
  void reset() { next_ = 200ms; }

 private:
  Clock::duration next_ = 200ms;
};

/// An eventfd through which other threads wake an execution's thread out of ChildProcess::poll or
/// a backoff wait.
class Wakeup {
 public:
  Wakeup() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Wakeup() {
    if (fd_ >= 0) close(fd_);
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  int fd() const { return fd_; }
  void notify() {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = write(fd_, &one, sizeof one);
  }
  void drain() {
    uint64_t count;
    [[maybe_unused]] const auto n = read(fd_, &count, sizeof count);
  }
  /// Waits until notified or `d` has passed.
  void wait_for(Clock::duration d) {
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(d).count()));
    drain();
  }

 private:
  int fd_;
};

}  // namespace

/// One assigned execution: its thread starts the command, pumps its pipes, pushes its status and
/// reports the end. end_on_server() and kill() may be called from any thread.
class Runner::Execution {
 public:
  /// `heartbeat`: the longest time between pushes, well within the lease they renew.
  Execution(Runner& runner, std::string id, std::string message, StatusBatcher::Clock::duration heartbeat)
      : runner_(runner), id_(std::move(id)), message_(std::move(message)), heartbeat_(heartbeat) {}
  ~Execution() { join(); }

  void start() {
    thread_ = std::thread([this] {
      try {
        run();
      } catch (const std::exception& e) {
        log(id_ + ": " + e.what());
      } catch (...) {
        log(id_ + ": unexpected error");
      }
      runner_.finished(id_);
    });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  /// The server has ended the execution: stop its command and push nothing more.
  void end_on_server() {
    ended_on_server_ = true;
    wake_.notify();
  }
  /// aexctl is being killed: stop its command (SIGKILL at once the second time), and do not
  /// insist on the final push.
  void kill() {
    ++kills_;
    wake_.notify();
  }

 private:
  void run();
  /// Pushes `status` once. Updates the batcher and ended_on_server_ from the outcome.
  void push(const exv1::AgentExecutionStatus& status, StatusBatcher& batcher);
  /// Pushes the final status until it is accepted, refused for good, or the budget is spent.
  void push_final(const exv1::AgentExecutionStatus& status, const std::string& outcome);
  grpc::Status update_status(const exv1::AgentExecutionStatus& status);

  Runner& runner_;
  const std::string id_;
  const std::string message_;  // the command's stdin
  const StatusBatcher::Clock::duration heartbeat_;
  std::thread thread_;
  Wakeup wake_;
  std::atomic<bool> ended_on_server_ = false;
  std::atomic<int> kills_ = 0;
  Backoff push_backoff_;
};

void Runner::Execution::run() {
  // IN_PROGRESS before the command starts, so that one cancelled meanwhile never runs.
  StatusBatcher batcher(now_rfc3339(), kPushInterval, heartbeat_);
  if (auto first = batcher.take(Clock::now())) push(*first, batcher);
  if (ended_on_server_) {
    log(id_ + " ended on the server before it started");
    return;
  }

  std::string error;
  auto child = ChildProcess::spawn(runner_.options_.command, message_, {{"AEXD_EXECUTION_ID", id_}}, error);
  if (!child) {
    push_final(batcher.final_status(exv1::EXECUTION_FAILED, error, now_rfc3339()), "failed: " + error);
    return;
  }
  log(id_ + " started: pid " + std::to_string(child->pid()));

  std::deque<std::string> stderr_tail;
  bool stopping = false;
  while (!child->exit_status()) {
    // Once stopping, the output goes into the final push only (none if the server ended it).
    const auto due = stopping ? std::nullopt : std::optional(batcher.due());
    Output out;
    child->poll(due.value_or(Clock::now() + 1h), out, wake_.fd());
    wake_.drain();
    const std::string at = now_rfc3339();
    for (const auto& line : out.stdout_lines) batcher.add_line(line, at);
    for (auto& line : out.stderr_lines) {
      stderr_tail.push_back(std::move(line));
      if (stderr_tail.size() > kStderrTail) stderr_tail.pop_front();
    }
    if ((ended_on_server_ || kills_ > 0) && !stopping) {
      stopping = true;
      log(id_ + ": stopping its command (SIGTERM, SIGKILL after " + std::to_string(runner_.options_.grace.count()) +
          " s)");
      child->stop(runner_.options_.grace);
    }
    if (kills_ > 1) child->stop(0s);  // SIGKILL now
    if (!stopping && !child->exit_status()) {
      if (auto status = batcher.take(Clock::now())) push(*status, batcher);
    }
  }

  const ExitStatus exit = *child->exit_status();
  if (ended_on_server_) {
    log(id_ + " stopped: " + exit.describe());
    return;
  }
  if (exit.success()) {
    push_final(batcher.final_status(exv1::EXECUTION_COMPLETED, "", now_rfc3339()), "completed");
    return;
  }
  std::string failure = exit.describe();
  for (const auto& line : stderr_tail) failure += "\n" + line;
  push_final(batcher.final_status(exv1::EXECUTION_FAILED, failure, now_rfc3339()), "failed: " + exit.describe());
}

void Runner::Execution::push(const exv1::AgentExecutionStatus& status, StatusBatcher& batcher) {
  const grpc::Status result = update_status(status);
  if (result.ok()) {
    push_backoff_.reset();
    return;
  }
  if (ended_on_server(result)) {
    log(id_ + " ended on the server (" + describe(result) + ")");
    end_on_server();
    return;
  }
  // The next push carries everything this one did; it only must not come too soon.
  const auto wait = push_backoff_.next();
  log(id_ + ": updateStatus failed (" + describe(result) + "); next try in " + milliseconds(wait));
  batcher.retry_at(Clock::now() + wait);
}

void Runner::Execution::push_final(const exv1::AgentExecutionStatus& status, const std::string& outcome) {
  const auto give_up_at = Clock::now() + kFinalPushBudget;
  Backoff backoff;
  for (;;) {
    const grpc::Status result = update_status(status);
    if (result.ok()) {
      log(id_ + " " + outcome);
      return;
    }
    if (ended_on_server(result)) {
      log(id_ + " " + outcome + "; not reported, it had already ended on the server (" + describe(result) + ")");
      return;
    }
    const auto wait = backoff.next();
    if (!transient(result) || kills_ > 0 || Clock::now() + wait > give_up_at) {
      log(id_ + " " + outcome + "; not reported: " + describe(result));
      return;
    }
    log(id_ + ": final updateStatus failed (" + describe(result) + "); retrying in " + milliseconds(wait));
    wake_.wait_for(wait);  // kill() cuts it short
  }
}

grpc::Status Runner::Execution::update_status(const exv1::AgentExecutionStatus& status) {
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id(id_);
  *input.mutable_status() = status;
  grpc::ClientContext context;
  runner_.connection_->prepare(context, kCallDeadline);
  exv1::AgentExecution reply;
  return runner_.commands_->updateStatus(&context, input, &reply);
}

Runner::Runner(RunnerOptions options, std::shared_ptr<const Connection> connection)
    : options_(std::move(options)), connection_(std::move(connection)) {
  dispatch_ = aexd::v1::ExecutionDispatch::NewStub(connection_->channel());
  commands_ = exv1::AgentExecutionCommandController::NewStub(connection_->channel());
}

Runner::~Runner() {
  kill();
  join_finished();
  std::map<std::string, std::unique_ptr<Execution>> running;
  {
    std::lock_guard lock(mutex_);
    running.swap(running_);
  }
  // Their threads call finished(), which finds nothing to move now; each is joined as it is destroyed.
  running.clear();
}

void Runner::run() {
  std::string agents;
  for (const auto& a : options_.agent_ids) agents += (agents.empty() ? ", agents " : " ") + a;
  log("runner " + options_.runner_id + " claiming from " + options_.server + " (capacity " +
      std::to_string(options_.capacity) + agents + ")");
  Backoff backoff;
  for (;;) {
    const auto opened = Clock::now();
    bool delivered = false;
    const grpc::Status ended = claim_once(delivered);
    join_finished();
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    // A stream that worked for a while was not the problem; start the backoff afresh.
    if (delivered || Clock::now() - opened > 5s) backoff.reset();
    const auto wait = backoff.next();
    log("claim stream ended (" + describe(ended) + "); reconnecting in " + milliseconds(wait));
    changed_.wait_for(lock, wait, [&] { return stopping_; });
    if (stopping_) break;
  }

  std::unique_lock lock(mutex_);
  if (!running_.empty()) {
    log("waiting for " + std::to_string(running_.size()) + " running execution(s) to end (signal again to stop them)");
  }
  while (!running_.empty() || !finished_.empty()) {
    changed_.wait(lock, [&] { return running_.empty() || !finished_.empty(); });
    lock.unlock();
    join_finished();
    lock.lock();
  }
  log("runner " + options_.runner_id + " stopped");
}

grpc::Status Runner::claim_once(bool& delivered) {
  grpc::ClientContext context;  // no deadline: the stream stays open until stop()
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return grpc::Status::CANCELLED;
    claim_context_ = &context;
  }
  aexd::v1::ClaimRequest request;
  request.set_runner_id(options_.runner_id);
  request.set_capacity(options_.capacity);
  for (const auto& a : options_.agent_ids) request.add_agent_ids(a);
  request.set_lease_seconds(options_.lease_seconds);

  auto reader = dispatch_->claim(&context, request);
  aexd::v1::DispatchEvent event;
  while (reader->Read(&event)) {
    delivered = true;
    if (event.has_assignment()) on_assignment(event.assignment());
    if (event.has_control()) on_control(event.control());
    join_finished();
  }
  const grpc::Status status = reader->Finish();
  std::lock_guard lock(mutex_);
  claim_context_ = nullptr;
  return status;
}

void Runner::on_assignment(const aexd::v1::Assignment& assignment) {
  const std::string& id = assignment.execution().metadata().id();
  log("assigned " + id + " attempt " + std::to_string(assignment.attempt()));
  std::string refusal;
  {
    std::lock_guard lock(mutex_);
    if (running_.count(id)) {
      log(id + " is already running here; assignment ignored");
      return;
    }
    if (stopping_) {
      refusal = "stopping";
    } else if (static_cast<int>(running_.size()) >= options_.capacity) {
      refusal = "at capacity";  // the server counts differently, e.g. across a reconnect
    } else {
      const auto lease = google::protobuf::util::TimeUtil::TimestampToMilliseconds(assignment.lease_expires_at()) -
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      const auto heartbeat = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(lease / 3), 500ms);
      auto& execution = running_[id] =
          std::make_unique<Execution>(*this, id, assignment.execution().spec().message(), heartbeat);
      execution->start();
      return;
    }
  }
  log(id + ": " + refusal + ", releasing it");
  release(id, assignment.lease_id());
}

void Runner::on_control(const aexd::v1::Control& control) {
  const std::string& id = control.execution_id();
  const std::string what = id + " " + exv1::ExecutionPhase_Name(control.phase()) +
                           (control.reason().empty() ? "" : " (" + control.reason() + ")");
  std::lock_guard lock(mutex_);
  const auto it = running_.find(id);
  if (it == running_.end()) {
    log(what + ": not running here");
  } else if (terminal(control.phase()) || control.phase() == exv1::EXECUTION_PHASE_UNSPECIFIED) {
    // UNSPECIFIED: the execution is gone (deleted).
    log(what);
    it->second->end_on_server();
  } else {
    log(what);  // paused, resumed, waiting for approval: the command runs on
  }
}

void Runner::release(const std::string& execution_id, const std::string& lease_id) {
  aexd::v1::ReleaseRequest request;
  request.set_execution_id(execution_id);
  request.set_lease_id(lease_id);
  grpc::ClientContext context;
  connection_->prepare(context, kCallDeadline);
  aexd::v1::ReleaseResponse response;
  const grpc::Status status = dispatch_->release(&context, request, &response);
  if (!status.ok()) log(execution_id + ": release failed (" + describe(status) + "); its lease will lapse");
}

void Runner::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  if (claim_context_ != nullptr) claim_context_->TryCancel();
  changed_.notify_all();
}

void Runner::kill() {
  stop();
  std::lock_guard lock(mutex_);
  for (auto& [id, execution] : running_) execution->kill();
}

void Runner::finished(const std::string& execution_id) {
  std::lock_guard lock(mutex_);
  const auto it = running_.find(execution_id);
  if (it == running_.end()) return;
  finished_.push_back(std::move(it->second));
  running_.erase(it);
  changed_.notify_all();
}

void Runner::join_finished() {
  std::vector<std::unique_ptr<Execution>> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(finished_);
  }
  done.clear();  // each joins its thread as it is destroyed
}

}  // namespace aexd::cli
