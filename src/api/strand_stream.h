// What our server-streaming reactors share (DESIGN.md): every StartWrite/Finish runs on the
// stream's own strand, Finish happens once, and the reactor frees itself when the call is done
// and no work posted to the strand still refers to it. The observer sees it start and end.
#pragma once

#include <grpcpp/support/server_callback.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <utility>

#include "api/calls.h"

namespace aexd::api {

template <class Message>
class StrandStream : public grpc::ServerWriteReactor<Message> {
 protected:
  StrandStream(const boost::asio::any_io_executor& executor, CallObserver& observer, const Method& method,
               const grpc::ServerContextBase& ctx, std::string_view id)
      : strand_(boost::asio::make_strand(executor)), clock_(observer, method, ctx, id) {
    observer.stream_started(method);
  }

  /// Runs `f` on the strand; reactions call only this.
  template <class F>
  void on_strand(F f) {
    ref();
    boost::asio::post(strand_, [this, f = std::move(f)] {
      f();
      unref();
    });
  }
  /// Strand-bound.
  void finish(const grpc::Status& status) {
    if (std::exchange(finished_, true)) return;
    status_ = status;
    this->Finish(status);
  }
  /// The derived OnDone calls this last: the call no longer refers to the reactor.
  void release_call() {
    clock_.ended(status_);  // OnDone follows Finish, so status_ is settled and no longer written
    unref();
  }
  void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  bool finished_ = false;  // strand-bound
  bool writing_ = false;   // strand-bound: one write in flight at most

 private:
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  CallClock clock_;
  grpc::Status status_;       // as finished
  std::atomic<int> refs_{1};  // the call itself, released in OnDone
};

}  // namespace aexd::api
