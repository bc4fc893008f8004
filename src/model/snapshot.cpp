#include "model/snapshot.h"

#include <string>

#include "domain/audit.h"
#include "domain/status.h"

namespace aexd::model {
namespace {

SnapshotPtr wrap(uint64_t revision, Phase phase, std::string* body) {
  // The slice owns the string, so the bytes are written once and never copied again.
  grpc::Slice bytes(
      body->data(), body->size(), [](void* owned) { delete static_cast<std::string*>(owned); }, body);
  return std::make_shared<const Snapshot>(Snapshot{revision, phase, is_terminal(phase), std::move(bytes)});
}

}  // namespace

SnapshotPtr make_snapshot(const Execution& execution) {
  return wrap(revision_of(execution.metadata()), execution.status().phase(),
              new std::string(execution.SerializeAsString()));
}

SnapshotPtr make_snapshot(uint64_t revision, Phase phase, std::string_view body) {
  return wrap(revision, phase, new std::string(body));
}

}  // namespace aexd::model
