// Retention's write (--retain-terminal): deleting executions that ended long enough ago, a bounded
// batch per write job, each through the execution delete pipeline, so that tags, counts, leases and
// the commit listener see exactly what a delete call does. StoredRetention hands it to the
// retention clock as its model::RetentionStore.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>

#include "model/retention.h"
#include "store/storage.h"

namespace aexd::pipeline {

/// Deletes at most `limit` executions whose terminal phase committed at or before `before_ms`
/// (Unix ms), oldest first, and says what is left (`out.oldest_ended_ms`). Runs inside a write job.
grpc::Status remove_ended(store::Tx& tx, int64_t before_ms, int limit, model::RetentionBatch& out);

/// remove_ended as a write job of `storage`, its cutoff read from the clock when the job runs.
class StoredRetention final : public model::RetentionStore {
 public:
  explicit StoredRetention(store::Storage& storage) : storage_(storage) {}

  void remove_ended(std::chrono::milliseconds retain, int limit, Done done) override;

 private:
  store::Storage& storage_;
};

}  // namespace aexd::pipeline
