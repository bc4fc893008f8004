#include "dispatch/dispatcher.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <future>
#include <memory>

#include "domain/status.h"

namespace aexd::dispatch {
namespace {

using namespace std::chrono;

int64_t now_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

bool transient(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         status.error_code() == grpc::StatusCode::INTERNAL;
}

/// How long to wait before deciding again about an execution whose write did not go through.
constexpr int64_t kRetryMs = 1000;
/// Executions read back from the database at a time when the in-memory queue has none for a runner.
constexpr int kRefillBatch = 1000;

void run(std::vector<std::function<void()>>& actions) {
  for (auto& action : actions) action();
}

}  // namespace

Dispatcher::Dispatcher(Settings settings, boost::asio::any_io_executor executor)
    : settings_(settings), timer_(executor), retry_(executor) {}

grpc::Status Dispatcher::start(model::LeaseStore& store) {
  store_ = &store;
  std::promise<grpc::Status> read;
  std::vector<model::LiveExecution> live;
  store.live(static_cast<int>(settings_.pending_window),
             [&](const grpc::Status& status, std::vector<model::LiveExecution> rows) {
               live = std::move(rows);
               read.set_value(status);
             });
  if (auto s = read.get_future().get(); !s.ok()) return s;
  std::lock_guard lock(mutex_);
  absorb(live, true);
  arm_timer();
  return grpc::Status::OK;
}

void Dispatcher::absorb(const std::vector<model::LiveExecution>& live, bool at_start) {
  size_t unheld_pending = 0;
  for (const auto& l : live) {
    const bool held = l.lease && l.lease->held();
    if (l.phase == exv1::EXECUTION_PENDING && !held) {
      ++unheld_pending;
      if (tracked_.count(l.id)) continue;
      if (at_start && pending_.size() >= settings_.pending_window) continue;
      tracked_.emplace(l.id, Tracked{.agent_id = l.agent_id, .changed_ms = l.updated_ms});
      enqueue(l.id);
      continue;
    }
    if (!at_start || (!held && l.phase != exv1::EXECUTION_IN_PROGRESS)) continue;
    Tracked t{.agent_id = l.agent_id, .phase = l.phase, .changed_ms = l.updated_ms};
    if (held) {
      // Its runner's stream went with the previous process: the lease runs on until the runner
      // claims again or the lease lapses.
      t.runner_id = l.lease->runner_id;
      t.lease_id = l.lease->lease_id;
      t.lease_ms = l.lease->lease_ms;
      t.assigned_ms = l.lease->assigned_ms;
      holds_[t.runner_id].insert(l.id);
    }
    schedule(l.id, tracked_.insert_or_assign(l.id, std::move(t)).first->second);
  }
  if (at_start && unheld_pending >= settings_.pending_window) ++overflows_;  // there may be more
}

void Dispatcher::committed(const std::vector<model::ExecutionChange>& changes) {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    const int64_t now = now_ms();
    for (const auto& change : changes) track_change(change, now, actions);
    arm_timer();
  }
  run(actions);
}

void Dispatcher::track_change(const model::ExecutionChange& change, int64_t now, std::vector<Action>& actions) {
  const auto& snapshot = change.snapshot;
  auto it = tracked_.find(change.id);
  if (!snapshot || snapshot->terminal) {
    if (it == tracked_.end()) return;
    const Tracked& t = it->second;
    if (!snapshot) {
      control(t, change.id, exv1::EXECUTION_PHASE_UNSPECIFIED, "deleted");
    } else if (snapshot->phase == exv1::EXECUTION_CANCELLED || snapshot->phase == exv1::EXECUTION_TERMINATED) {
      Execution ended;  // the reason is its error; decoded only for these rare events
      ended.ParseFromArray(snapshot->view().data(), static_cast<int>(snapshot->view().size()));
      control(t, change.id, snapshot->phase, ended.status().error());
    }
    return untrack(change.id, actions);
  }
  const Phase phase = snapshot->phase;
  if (it == tracked_.end()) {
    if (phase == exv1::EXECUTION_PENDING) {
      Execution created;  // a new execution: small, and its agent is all dispatch needs of it
      created.ParseFromArray(snapshot->view().data(), static_cast<int>(snapshot->view().size()));
      tracked_.emplace(change.id, Tracked{.agent_id = created.spec().agent_id(), .changed_ms = now});
      offer(change.id, actions);
    } else if (phase == exv1::EXECUTION_IN_PROGRESS && settings_.stall_timeout.count() > 0) {
      schedule(change.id, tracked_.emplace(change.id, Tracked{.phase = phase, .changed_ms = now}).first->second);
    }
    return;
  }
  Tracked& t = it->second;
  const Phase before = t.phase;
  t.phase = phase;
  t.changed_ms = now;
  if (!t.lease_id.empty()) {
    if (phase == exv1::EXECUTION_PAUSED && before != exv1::EXECUTION_PAUSED) {
      control(t, change.id, phase, "paused");
    } else if (before == exv1::EXECUTION_PAUSED && phase != exv1::EXECUTION_PAUSED) {
      control(t, change.id, phase, "resumed");
    }
  }
  if (phase != exv1::EXECUTION_PENDING && pending_.count(change.id)) dequeue(change.id);  // started elsewhere
  schedule(change.id, t);
}

void Dispatcher::untrack(const std::string& id, std::vector<Action>& actions) {
  auto it = tracked_.find(id);
  if (it == tracked_.end()) return;
  const std::string runner = it->second.runner_id;
  if (pending_.count(id)) dequeue(id);
  tracked_.erase(it);
  if (runner.empty()) return;
  drop_hold(runner, id);
  if (Stream* stream = stream_of(runner)) fill(*stream, actions);
}

void Dispatcher::drop_hold(const std::string& runner_id, const std::string& id) {
  auto it = holds_.find(runner_id);
  if (it == holds_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) holds_.erase(it);
}

void Dispatcher::enqueue(const std::string& id) {
  pending_.insert(id);
  pending_by_agent_[tracked_.at(id).agent_id].insert(id);
}

void Dispatcher::dequeue(const std::string& id) {
  pending_.erase(id);
  auto it = pending_by_agent_.find(tracked_.at(id).agent_id);
  if (it == pending_by_agent_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) pending_by_agent_.erase(it);
}

Dispatcher::Stream* Dispatcher::stream_of(const std::string& runner_id) {
  for (auto& s : streams_)
    if (s.claim.runner_id == runner_id) return &s;
  return nullptr;
}

size_t Dispatcher::held_by(const std::string& runner_id) const {
  auto it = holds_.find(runner_id);
  return it == holds_.end() ? 0 : it->second.size();
}

bool Dispatcher::has_room(const Stream& stream) const {
  return held_by(stream.claim.runner_id) < static_cast<size_t>(stream.claim.capacity);
}

bool Dispatcher::matches(const Stream& stream, const std::string& agent_id) const {
  const auto& agents = stream.claim.agent_ids;
  return agents.empty() || std::find(agents.begin(), agents.end(), agent_id) != agents.end();
}

void Dispatcher::offer(const std::string& id, std::vector<Action>& actions) {
  const Tracked& t = tracked_.at(id);
  // The stream that just let it go gets it again only when no other stream can take it.
  Stream* best = nullptr;
  auto better = [&](const Stream& s) {
    if (!best) return true;
    const bool avoided = s.serial == t.avoid_stream, best_avoided = best->serial == t.avoid_stream;
    if (avoided != best_avoided) return !avoided;
    return held_by(s.claim.runner_id) < held_by(best->claim.runner_id);
  };
  for (auto& s : streams_)
    if (matches(s, t.agent_id) && has_room(s) && better(s)) best = &s;
  if (best) return start_assign(id, *best, actions);
  if (pending_.count(id)) return;
  if (pending_.size() < settings_.pending_window) return enqueue(id);
  // The queue is full: this one waits in the database until a runner with room finds nothing here.
  tracked_.erase(id);
  ++overflows_;
}

std::string Dispatcher::oldest_for(const Stream& stream) const {
  if (stream.claim.agent_ids.empty()) return pending_.empty() ? std::string() : *pending_.begin();
  std::string oldest;
  for (const auto& agent : stream.claim.agent_ids) {
    auto it = pending_by_agent_.find(agent);
    if (it != pending_by_agent_.end() && (oldest.empty() || *it->second.begin() < oldest)) oldest = *it->second.begin();
  }
  return oldest;
}

void Dispatcher::fill(Stream& stream, std::vector<Action>& actions) {
  while (!closed_ && has_room(stream)) {
    const std::string id = oldest_for(stream);
    if (id.empty()) {
      if (stream.read_at_overflows != overflows_ && !refilling_) refill(stream, actions);
      return;
    }
    start_assign(id, stream, actions);
  }
}

void Dispatcher::refill(Stream& stream, std::vector<Action>& actions) {
  refilling_ = true;
  const int limit = std::max(kRefillBatch, stream.claim.capacity);
  actions.push_back([this, serial = stream.serial, agents = stream.claim.agent_ids, limit, seen = overflows_] {
    store_->pending(agents, limit, [this, serial, limit, seen](const grpc::Status& status,
                                                               std::vector<model::LiveExecution> rows) {
      std::vector<Action> actions;
      {
        std::lock_guard lock(mutex_);
        refilling_ = false;
        if (closed_) return;
        if (!status.ok()) return retry_soon();  // not at once: a failing read would spin
        const size_t before = pending_.size();
        absorb(rows, false);
        // Read to the end (or nothing new came of it): no more reads for this stream until
        // another execution is left in the database only.
        const bool exhausted = rows.size() < static_cast<size_t>(limit) || pending_.size() == before;
        for (auto& s : streams_)
          if (s.serial == serial && exhausted) s.read_at_overflows = seen;
        for (auto& s : streams_) fill(s, actions);
      }
      run(actions);
    });
  });
}

void Dispatcher::start_assign(const std::string& id, Stream& stream, std::vector<Action>& actions) {
  if (pending_.count(id)) dequeue(id);
  Tracked& t = tracked_.at(id);
  t.runner_id = stream.claim.runner_id;
  t.lease_id.clear();
  holds_[t.runner_id].insert(id);
  const auto lease = stream.claim.lease.count() > 0 ? stream.claim.lease : settings_.lease;
  actions.push_back([this, id, runner = t.runner_id, lease] {
    store_->assign(id, runner, lease, [this, id](const grpc::Status& status, const model::Lease& held,
                                                 const Execution& execution) { on_assigned(id, status, held, execution); });
  });
}

void Dispatcher::on_assigned(const std::string& id, const grpc::Status& status, const model::Lease& lease,
                             const Execution& execution) {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    auto it = tracked_.find(id);
    if (it == tracked_.end()) return;  // it ended or was deleted meanwhile, and its lease with it
    Tracked& t = it->second;
    if (!status.ok()) {
      const std::string runner = std::move(t.runner_id);
      t.runner_id.clear();
      drop_hold(runner, id);
      if (closed_) return;
      if (transient(status)) {
        if (t.phase == exv1::EXECUTION_PENDING) enqueue(id);
        retry_soon();
      } else {
        // Refused: the stored state moved on (a commit has told us, or a read-back was stale).
        if (t.phase == exv1::EXECUTION_PENDING) tracked_.erase(it);
        if (Stream* stream = stream_of(runner)) fill(*stream, actions);
      }
    } else {
      held(id, t, lease, execution, actions);
    }
    arm_timer();
  }
  run(actions);
}

void Dispatcher::held(const std::string& id, Tracked& t, const model::Lease& lease, const Execution& execution,
                      std::vector<Action>& actions) {
  t.lease_id = lease.lease_id;
  t.lease_ms = lease.lease_ms;
  t.assigned_ms = lease.assigned_ms;
  schedule(id, t);
  Stream* stream = closed_ ? nullptr : stream_of(t.runner_id);
  if (!stream) {
    if (!closed_) abandon(id, t, actions);  // its stream ended while the lease was being written
    return;
  }
  aexd::v1::DispatchEvent event;
  auto& assignment = *event.mutable_assignment();
  *assignment.mutable_execution() = execution;
  assignment.set_lease_id(lease.lease_id);
  *assignment.mutable_lease_expires_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(lease.assigned_ms + lease.lease_ms);
  assignment.set_attempt(lease.attempt);
  stream->link->send(std::move(event));
  // Paused in the batch that wrote the lease: the assignment shows it PENDING.
  if (t.phase == exv1::EXECUTION_PAUSED) control(t, id, t.phase, "paused");
}

void Dispatcher::abandon(const std::string& id, Tracked& t, std::vector<Action>& actions) {
  t.firing = true;
  actions.push_back([this, id, lease_id = t.lease_id, done = outcome_of(id)] {
    store_->abandon(id, lease_id, settings_.max_attempts, done);
  });
}

model::LeaseStore::Outcome Dispatcher::outcome_of(const std::string& id) {
  return [this, id](const grpc::Status& status, model::LeaseOutcome outcome) { on_lease_outcome(id, status, outcome); };
}

void Dispatcher::on_lease_outcome(const std::string& id, const grpc::Status& status, model::LeaseOutcome outcome) {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    auto it = tracked_.find(id);
    if (it == tracked_.end() || closed_) return;  // ended: the commit already let it go
    Tracked& t = it->second;
    t.firing = false;
    if (status.ok() && outcome == model::LeaseOutcome::unheld) {
      unhold(id, t, actions);
    } else {
      // Not due after all, or not written: decide again later, never in a tight loop.
      const int64_t now = now_ms();
      if (due_of(t) <= now) {
        deadlines_.push({now + kRetryMs, id});
        t.queued_due = now + kRetryMs;
      } else {
        schedule(id, t);
      }
    }
    arm_timer();
  }
  run(actions);
}

void Dispatcher::unhold(const std::string& id, Tracked& t, std::vector<Action>& actions) {
  const std::string runner = std::move(t.runner_id);
  t.runner_id.clear();
  t.lease_id.clear();
  drop_hold(runner, id);
  Stream* holder = stream_of(runner);
  t.avoid_stream = holder ? holder->serial : 0;
  offer(id, actions);
  if (holder) fill(*holder, actions);
}

void Dispatcher::control(const Tracked& t, const std::string& id, Phase phase, std::string reason) {
  if (t.lease_id.empty()) return;
  Stream* stream = stream_of(t.runner_id);
  if (!stream) return;
  aexd::v1::DispatchEvent event;
  auto& control = *event.mutable_control();
  control.set_execution_id(id);
  control.set_phase(phase);
  control.set_reason(std::move(reason));
  stream->link->send(std::move(event));
}

int64_t Dispatcher::lease_due(const Tracked& t) { return std::max(t.assigned_ms, t.changed_ms) + t.lease_ms; }

int64_t Dispatcher::due_of(const Tracked& t) const {
  if (clocks_stopped(t.phase)) return 0;
  int64_t due = 0;
  if (!t.lease_id.empty()) due = lease_due(t);
  if (t.phase == exv1::EXECUTION_IN_PROGRESS && settings_.stall_timeout.count() > 0) {
    const int64_t stall = t.changed_ms + settings_.stall_timeout.count();
    due = due == 0 ? stall : std::min(due, stall);
  }
  return due;
}

void Dispatcher::schedule(const std::string& id, Tracked& t) {
  const int64_t due = due_of(t);
  // A later deadline leaves the earlier heap entry in place: it is checked again when it comes up,
  // so a push, which only ever moves a deadline later, costs no heap operation.
  if (due == 0 || (t.queued_due != 0 && t.queued_due <= due)) return;
  deadlines_.push({due, id});
  t.queued_due = due;
}

void Dispatcher::arm_timer() {
  if (closed_ || deadlines_.empty()) return;
  const int64_t first = deadlines_.top().first;
  if (timer_at_ != 0 && timer_at_ <= first) return;
  timer_at_ = first;
  timer_.expires_at(system_clock::time_point(milliseconds(first)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

void Dispatcher::on_timer() {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    timer_at_ = 0;
    const int64_t now = now_ms();
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      const int64_t at = deadlines_.top().first;
      const std::string id = deadlines_.top().second;  // not a structured binding: clang 14 cannot capture one
      deadlines_.pop();
      auto it = tracked_.find(id);
      if (it == tracked_.end() || it->second.queued_due != at) continue;  // gone, or superseded
      Tracked& t = it->second;
      t.queued_due = 0;
      const int64_t due = due_of(t);
      if (t.firing || due == 0) continue;
      if (due > now) {
        schedule(id, t);
        continue;
      }
      t.firing = true;
      if (!t.lease_id.empty() && lease_due(t) <= now) {
        actions.push_back([this, id, lease_id = t.lease_id, done = outcome_of(id)] {
          store_->lapse(id, lease_id, settings_.max_attempts, done);
        });
      } else {
        actions.push_back([this, id, done = outcome_of(id)] { store_->stall(id, settings_.stall_timeout, done); });
      }
    }
    arm_timer();
  }
  run(actions);
}

void Dispatcher::retry_soon() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_.expires_after(milliseconds(kRetryMs));
  retry_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::vector<Action> actions;
    {
      std::lock_guard lock(mutex_);
      retry_armed_ = false;
      for (auto& s : streams_) fill(s, actions);
    }
    run(actions);
  });
}

void Dispatcher::open(RunnerStream* link, Claim claim) {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return link->end({grpc::StatusCode::UNAVAILABLE, "server is shutting down"});
    if (Stream* previous = stream_of(claim.runner_id)) {
      previous->link->end(
          {grpc::StatusCode::ABORTED, "replaced by a newer claim stream of runner " + claim.runner_id});
      streams_.erase(streams_.begin() + (previous - streams_.data()));
    }
    streams_.push_back(Stream{link, next_serial_++, std::move(claim)});
    // A runner that comes back learns what was paused while it was away.
    if (auto held = holds_.find(streams_.back().claim.runner_id); held != holds_.end())
      for (const auto& id : held->second)
        if (const Tracked& t = tracked_.at(id); t.phase == exv1::EXECUTION_PAUSED) control(t, id, t.phase, "paused");
    fill(streams_.back(), actions);
  }
  run(actions);
}

void Dispatcher::close(RunnerStream* link) {
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(streams_.begin(), streams_.end(), [&](const Stream& s) { return s.link == link; });
    if (it == streams_.end()) return;  // replaced, or shut down
    const std::string runner = it->claim.runner_id;
    streams_.erase(it);
    if (closed_) return;
    // Unstarted work goes to another runner now; started work keeps its lease until it lapses,
    // in case the runner comes back (a push renews it, a new claim stream takes it over).
    if (auto held = holds_.find(runner); held != holds_.end()) {
      for (const auto& id : held->second) {
        Tracked& t = tracked_.at(id);
        if (t.phase == exv1::EXECUTION_PENDING && !t.lease_id.empty() && !t.firing) abandon(id, t, actions);
      }
    }
  }
  run(actions);
}

void Dispatcher::release(std::string execution_id, std::string lease_id,
                         std::function<void(const grpc::Status&)> done) {
  store_->release(execution_id, lease_id,
                  [this, execution_id, lease_id, done = std::move(done)](const grpc::Status& status) {
                    std::vector<Action> actions;
                    if (status.ok()) {
                      std::lock_guard lock(mutex_);
                      auto it = tracked_.find(execution_id);
                      if (!closed_ && it != tracked_.end() && it->second.lease_id == lease_id)
                        unhold(execution_id, it->second, actions);
                    }
                    run(actions);
                    done(status);
                  });
}

void Dispatcher::shutdown() {
  std::lock_guard lock(mutex_);
  if (std::exchange(closed_, true)) return;
  for (auto& s : streams_) s.link->end({grpc::StatusCode::UNAVAILABLE, "server is shutting down"});
  streams_.clear();
  timer_.cancel();
  retry_.cancel();
}

Dispatcher::Counts Dispatcher::counts() const {
  std::lock_guard lock(mutex_);
  Counts counts{streams_.size(), 0, pending_.size()};
  for (const auto& [runner, ids] : holds_) counts.held += ids.size();
  return counts;
}

}  // namespace aexd::dispatch
