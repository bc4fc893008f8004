// Dispatcher: hands PENDING executions to runners' claim streams and keeps their leases and stall
// deadlines (API.md, "Dispatch"). It learns of every committed change as a commit listener, decides
// in memory under one lock, and makes each decision (a lease, a lapse) durable through a
// model::LeaseStore whose writes re-check the stored state, so the database, not this process's
// memory, is what is true. Thread-safe; never calls the store or a stream's owner back while it holds
// its lock, except RunnerStream calls, which only queue.
#pragma once

#include <grpcpp/support/status.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aexd/v1/dispatch.pb.h"
#include "model/commit_listener.h"
#include "model/lease.h"

namespace aexd::dispatch {

struct Settings {
  std::chrono::milliseconds lease{std::chrono::seconds(60)};  // when the claim does not say
  int max_attempts = 3;
  std::chrono::milliseconds stall_timeout{std::chrono::minutes(10)};  // 0: no stall detection
  size_t pending_window = 100000;  // unheld PENDING executions queued in memory; the rest wait in the database
};

/// A runner's claim stream as the dispatcher sees it. Called with the dispatcher's lock held, so
/// an implementation only queues the event (or the end) and posts its sending elsewhere.
class RunnerStream {
 public:
  virtual void send(aexd::v1::DispatchEvent event) = 0;
  /// The dispatcher is done with this stream (replaced by a newer claim, or shutdown).
  virtual void end(const grpc::Status& status) = 0;

 protected:
  ~RunnerStream() = default;
};

struct Claim {
  std::string runner_id;
  int capacity = 1;
  std::vector<std::string> agent_ids;  // empty: any agent
  std::chrono::milliseconds lease{0};  // 0: the server's default
};

class Dispatcher final : public model::CommitListener {
 public:
  Dispatcher(Settings settings, boost::asio::any_io_executor executor);

  /// Rebuilds queue, holds and deadlines from the database, and writes through `store` from then
  /// on. Blocks; call once, before serving.
  grpc::Status start(model::LeaseStore& store);
  /// The storage's commit path.
  void committed(const std::vector<model::ExecutionChange>& changes) override;

  /// A validated claim. The stream is offered work at once; it takes over the executions its
  /// runner still holds (and a previous stream of that runner ends).
  void open(RunnerStream* stream, Claim claim);
  /// The stream ended. Once this returns the dispatcher never calls it again. Executions it held
  /// and had not started are offered to other runners at once.
  void close(RunnerStream* stream);
  /// The release RPC: `done` gets the outcome once it is durable.
  void release(std::string execution_id, std::string lease_id, std::function<void(const grpc::Status&)> done);
  /// Ends every stream with UNAVAILABLE and stops deciding.
  void shutdown();

  /// Claim streams open, executions held, unheld PENDING executions queued in memory.
  struct Counts {
    size_t streams = 0, held = 0, queued = 0;
  };
  Counts counts() const;

 private:
  struct Stream {
    RunnerStream* link;
    uint64_t serial;
    Claim claim;
    uint64_t read_at_overflows = 0;  // `overflows_` when the database last had nothing more for it
  };
  /// An unfinished execution dispatch keeps an eye on: queued, held, or IN_PROGRESS (stall).
  struct Tracked {
    std::string agent_id{};
    Phase phase = exv1::EXECUTION_PENDING;
    int64_t changed_ms = 0;  // its last status change
    std::string runner_id{};  // holder, once an assignment is being written or held
    std::string lease_id{};   // empty while the assignment is being written
    int64_t lease_ms = 0, assigned_ms = 0;
    uint64_t avoid_stream = 0;  // let go by this stream (lapse, release): offered to others first
    int64_t queued_due = 0;     // the deadline it is in the heap under; 0: none
    bool firing = false;        // a deadline's write is in flight
  };
  using Action = std::function<void()>;  // storage work, run once the lock is released

  // All need mutex_.
  void absorb(const std::vector<model::LiveExecution>& live, bool at_start);
  void track_change(const model::ExecutionChange& change, int64_t now, std::vector<Action>& actions);
  void untrack(const std::string& id, std::vector<Action>& actions);
  void enqueue(const std::string& id);
  void dequeue(const std::string& id);
  Stream* stream_of(const std::string& runner_id);
  size_t held_by(const std::string& runner_id) const;
  bool has_room(const Stream& stream) const;
  bool matches(const Stream& stream, const std::string& agent_id) const;
  /// The oldest queued execution `stream` may take; empty if none.
  std::string oldest_for(const Stream& stream) const;
  void offer(const std::string& id, std::vector<Action>& actions);
  void fill(Stream& stream, std::vector<Action>& actions);
  /// Reads the oldest unheld PENDING executions `stream` may take back from the database.
  void refill(Stream& stream, std::vector<Action>& actions);
  void start_assign(const std::string& id, Stream& stream, std::vector<Action>& actions);
  void drop_hold(const std::string& runner_id, const std::string& id);
  void unhold(const std::string& id, Tracked& t, std::vector<Action>& actions);
  void abandon(const std::string& id, Tracked& t, std::vector<Action>& actions);
  /// Called with a deadline's or abandon's outcome (`on_lease_outcome`) once written.
  model::LeaseStore::Outcome outcome_of(const std::string& id);
  void control(const Tracked& t, const std::string& id, Phase phase, std::string reason);
  /// A held lease lapses this long after its assignment or the last status change, whichever is later.
  static int64_t lease_due(const Tracked& t);
  int64_t due_of(const Tracked& t) const;
  void schedule(const std::string& id, Tracked& t);
  void arm_timer();
  void retry_soon();

  /// The assignment's lease is written: hold it and send the assignment.
  void held(const std::string& id, Tracked& t, const model::Lease& lease, const Execution& execution,
            std::vector<Action>& actions);

  // Write completions and timers: they take the lock themselves.
  void on_assigned(const std::string& id, const grpc::Status& status, const model::Lease& lease,
                   const Execution& execution);
  void on_lease_outcome(const std::string& id, const grpc::Status& status, model::LeaseOutcome outcome);
  void on_timer();

  const Settings settings_;
  model::LeaseStore* store_ = nullptr;

  mutable std::mutex mutex_;
  bool closed_ = false;
  uint64_t next_serial_ = 1;
  std::vector<Stream> streams_;
  std::unordered_map<std::string, Tracked> tracked_;
  std::set<std::string> pending_;                                     // unheld PENDING ids: oldest first
  std::map<std::string, std::set<std::string>> pending_by_agent_;     // the same, per agent
  uint64_t overflows_ = 0;  // unheld PENDING executions left in the database only, so far
  bool refilling_ = false;  // a read of them is in flight
  std::unordered_map<std::string, std::unordered_set<std::string>> holds_;  // runner id → executions it holds
  using Due = std::pair<int64_t, std::string>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> deadlines_;
  boost::asio::system_timer timer_;
  int64_t timer_at_ = 0;  // when the armed timer fires; 0: not armed
  boost::asio::steady_timer retry_;  // assignments whose write did not go through
  bool retry_armed_ = false;
};

}  // namespace aexd::dispatch
