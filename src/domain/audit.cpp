#include "domain/audit.h"

#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <string>

namespace aexd {
namespace {

void stamp_updated(res::ApiResourceAuditInfo& info, const google::protobuf::Timestamp& at) {
  info.mutable_updated_by()->set_id("system");
  *info.mutable_updated_at() = at;
  info.set_event("updated");
}

}  // namespace

google::protobuf::Timestamp now() { return google::protobuf::util::TimeUtil::GetCurrentTime(); }

void stamp_created(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at) {
  for (auto* info : {audit.mutable_spec_audit(), audit.mutable_status_audit()}) {
    info->Clear();
    info->mutable_created_by()->set_id("system");
    *info->mutable_created_at() = at;
    info->mutable_updated_by()->set_id("system");
    *info->mutable_updated_at() = at;
    info->set_event("created");
  }
}

void stamp_spec_updated(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at) {
  stamp_updated(*audit.mutable_spec_audit(), at);
}

void stamp_status_updated(res::ApiResourceAudit& audit, const google::protobuf::Timestamp& at) {
  stamp_updated(*audit.mutable_status_audit(), at);
}

uint64_t revision_of(const res::ApiResourceMetadata& metadata) {
  const std::string& text = metadata.version().id();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

void set_revision(res::ApiResourceMetadata& metadata, uint64_t revision) {
  auto* version = metadata.mutable_version();
  version->set_previous_version_id(revision > 1 ? std::to_string(revision - 1) : "");
  version->set_id(std::to_string(revision));
}

}  // namespace aexd
