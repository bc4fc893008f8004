// ReadThrough: an execution's newest committed snapshot, for get and subscribe: from the execution
// cache when it holds it, else read from storage and then cached. Thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <functional>
#include <string>

#include "model/snapshot.h"
#include "store/storage.h"
#include "watch/execution_cache.h"

namespace aexd::api {

class ReadThrough {
 public:
  using Found = std::function<void(const grpc::Status&, model::SnapshotPtr)>;

  ReadThrough(store::Storage& storage, watch::ExecutionCache& cache) : storage_(storage), cache_(cache) {}

  /// `found` runs on the caller's thread when the cache holds `id`, else on a reader's thread.
  void find(const std::string& id, Found found);

 private:
  store::Storage& storage_;
  watch::ExecutionCache& cache_;
};

}  // namespace aexd::api
