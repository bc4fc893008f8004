#include "domain/audit.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

using namespace aexd;
using google::protobuf::Timestamp;
using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

namespace {

Timestamp at(int64_t seconds) { return TimeUtil::SecondsToTimestamp(seconds); }

void check_created(const res::ApiResourceAuditInfo& info, const Timestamp& when) {
  CHECK(info.created_by().id() == "system");
  CHECK(info.created_at() == when);
  CHECK(info.updated_by().id() == "system");
  CHECK(info.updated_at() == when);
  CHECK(info.event() == "created");
}

}  // namespace

TEST_CASE("stamp_created sets both spec and status audit as created by system at the given time") {
  res::ApiResourceAudit audit;
  stamp_created(audit, at(1'000));
  check_created(audit.spec_audit(), at(1'000));
  check_created(audit.status_audit(), at(1'000));
}

TEST_CASE("stamp_created discards whatever audit the client sent") {
  res::ApiResourceAudit audit;
  audit.mutable_spec_audit()->mutable_created_by()->set_id("mallory");
  audit.mutable_spec_audit()->mutable_created_by()->set_avatar("x.png");
  audit.mutable_status_audit()->set_event("updated");
  stamp_created(audit, at(1'000));
  CHECK(audit.spec_audit().created_by().avatar().empty());
  check_created(audit.spec_audit(), at(1'000));
  check_created(audit.status_audit(), at(1'000));
}

TEST_CASE("stamp_spec_updated moves only the spec audit's update and keeps its creation") {
  res::ApiResourceAudit audit;
  stamp_created(audit, at(1'000));
  const auto status_before = audit.status_audit();
  stamp_spec_updated(audit, at(2'000));
  CHECK(audit.spec_audit().created_by().id() == "system");
  CHECK(audit.spec_audit().created_at() == at(1'000));
  CHECK(audit.spec_audit().updated_by().id() == "system");
  CHECK(audit.spec_audit().updated_at() == at(2'000));
  CHECK(audit.spec_audit().event() == "updated");
  CHECK(MessageDifferencer::Equals(audit.status_audit(), status_before));
}

TEST_CASE("stamp_status_updated moves only the status audit's update and keeps its creation") {
  res::ApiResourceAudit audit;
  stamp_created(audit, at(1'000));
  const auto spec_before = audit.spec_audit();
  stamp_status_updated(audit, at(3'000));
  CHECK(audit.status_audit().created_at() == at(1'000));
  CHECK(audit.status_audit().updated_by().id() == "system");
  CHECK(audit.status_audit().updated_at() == at(3'000));
  CHECK(audit.status_audit().event() == "updated");
  CHECK(MessageDifferencer::Equals(audit.spec_audit(), spec_before));
}

TEST_CASE("now() is the current wall-clock time") {
  const Timestamp before = TimeUtil::GetCurrentTime();
  const Timestamp stamped = now();
  const Timestamp after = TimeUtil::GetCurrentTime();
  CHECK(before <= stamped);
  CHECK(stamped <= after);
}

TEST_CASE("revision_of reads a decimal metadata.version.id") {
  res::ApiResourceMetadata m;
  m.mutable_version()->set_id("42");
  CHECK(revision_of(m) == 42);
  m.mutable_version()->set_id("18446744073709551615");
  CHECK(revision_of(m) == UINT64_MAX);
}

TEST_CASE("revision_of is 0 for an absent, empty or non-decimal version id") {
  res::ApiResourceMetadata m;
  CHECK(revision_of(m) == 0);
  for (const char* bad : {"", "abc", "12abc", "-3", " 7", "7 ", "1.5", "18446744073709551616"}) {
    CAPTURE(bad);
    m.mutable_version()->set_id(bad);
    CHECK(revision_of(m) == 0);
  }
}

TEST_CASE("set_revision writes the revision and the one it replaces") {
  res::ApiResourceMetadata m;
  set_revision(m, 7);
  CHECK(m.version().id() == "7");
  CHECK(m.version().previous_version_id() == "6");
  CHECK(revision_of(m) == 7);
}

TEST_CASE("the first revision has no previous version") {
  res::ApiResourceMetadata m;
  m.mutable_version()->set_previous_version_id("stale");
  set_revision(m, 1);
  CHECK(m.version().id() == "1");
  CHECK(m.version().previous_version_id().empty());
}

TEST_CASE("set_revision keeps the version message") {
  res::ApiResourceMetadata m;
  m.mutable_version()->set_message("rename");
  set_revision(m, 2);
  CHECK(m.version().message() == "rename");
}
