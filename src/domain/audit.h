// Audit stamps and revision numbers that every stored change carries.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

#include "domain/types.h"

namespace aexd {

google::protobuf::Timestamp now();

/// Create: spec and status audit both created/updated by "system" at `at`, event "created".
void stamp_created(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at);
/// Spec (or metadata) change: spec_audit updated by "system" at `at`, event "updated".
void stamp_spec_updated(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at);
/// Status change: status_audit updated by "system" at `at`, event "updated".
void stamp_status_updated(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at);

/// The revision in metadata.version.id (0 when absent or not a decimal number).
uint64_t revision_of(const res::ApiResourceMetadata& metadata);
/// Sets version.id to `revision` and previous_version_id to the revision it replaces.
void set_revision(res::ApiResourceMetadata& metadata, uint64_t revision);

/// What a change of a stored resource touched: its spec (and metadata) or its status.
enum class Changed { spec, status };

/// A stored resource changed: the audit of what changed is stamped at `at` and the revision goes up
/// by one. Every write of an existing resource goes through here.
template <class T>
void record_change(T& resource, Changed what, const google::protobuf::Timestamp& at) {
  auto& audit = *resource.mutable_status()->mutable_audit();
  what == Changed::spec ? stamp_spec_updated(audit, at) : stamp_status_updated(audit, at);
  set_revision(*resource.mutable_metadata(), revision_of(resource.metadata()) + 1);
}

}  // namespace aexd
