// Snapshot: one committed state of an execution, encoded once and then shared, without copying,
// by everything that hands it out (the row, subscribe streams, the get cache, write replies).
// Immutable once made; safe to share across threads.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "domain/types.h"

namespace aexd::model {

struct Snapshot {
  uint64_t revision = 0;
  Phase phase = exv1::EXECUTION_PHASE_UNSPECIFIED;
  bool terminal = false;
  grpc::Slice bytes;  // the serialized AgentExecution; reference-counted, so copies are cheap

  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.begin()), bytes.size()}; }
  /// A gRPC message that refers to `bytes`.
  grpc::ByteBuffer message() const {
    grpc::Slice slice = bytes;
    return grpc::ByteBuffer(&slice, 1);
  }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

SnapshotPtr make_snapshot(const Execution& execution);
/// From a stored row: its revision and phase columns and its body.
SnapshotPtr make_snapshot(uint64_t revision, Phase phase, std::string_view body);

}  // namespace aexd::model
