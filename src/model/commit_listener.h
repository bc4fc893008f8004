// What storage tells the rest of the server after each commit: the executions it changed.
#pragma once

#include <string>
#include <vector>

#include "model/snapshot.h"

namespace aexd::model {

/// A committed change to one execution: its new snapshot, or null when it was deleted.
struct ExecutionChange {
  std::string id;
  SnapshotPtr snapshot;
};

/// Called by the storage implementation after each commit, before any call of the batch completes,
/// with the batch's changes in commit order. One caller at a time per storage (commit order).
class CommitListener {
 public:
  virtual void committed(const std::vector<ExecutionChange>& changes) = 0;

 protected:
  ~CommitListener() = default;
};

}  // namespace aexd::model
