// QuietTrim hands the heap's free memory back to the kernel (malloc_trim) once work has stopped for
// a while, so that a burst's high-water mark does not stay resident, while the working reserve
// kept by tune_process() still serves the burst itself. Thread-safe; the trim runs on the executor.
#pragma once

#include <malloc.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>

namespace aexd {

class QuietTrim {
 public:
  QuietTrim(boost::asio::any_io_executor executor, std::chrono::milliseconds quiet) : timer_(executor), quiet_(quiet) {}

  /// Work happened: memory is trimmed once `quiet` has passed without more. Cheap (a count); arms
  /// the one timer only when it is not armed, so a server that stays idle wakes for nothing.
  void activity() {
    std::lock_guard lock(mutex_);
    ++activity_;
    if (!armed_ && !stopped_) arm();
  }

  /// Cancels a pending trim (at shutdown, so that the executor's threads need not wait for it).
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    timer_.cancel();
  }

 private:
  void arm() {  // with mutex_ held
    armed_ = true;
    activity_when_armed_ = activity_;
    timer_.expires_after(quiet_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) fired();
    });
  }

  void fired() {
    {
      std::lock_guard lock(mutex_);
      armed_ = false;
      if (stopped_) return;
      if (activity_ != activity_when_armed_) {  // work went on: wait for it to stop
        arm();
        return;
      }
    }
    malloc_trim(0);
  }

  std::mutex mutex_;
  boost::asio::steady_timer timer_;  // guarded by mutex_
  const std::chrono::milliseconds quiet_;
  uint64_t activity_ = 0;             // guarded by mutex_
  uint64_t activity_when_armed_ = 0;  // guarded by mutex_
  bool armed_ = false;                // guarded by mutex_
  bool stopped_ = false;              // guarded by mutex_
};

}  // namespace aexd
