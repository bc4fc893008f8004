#include "model/snapshot.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>

#include <vector>

#include "domain/audit.h"

using namespace aexd;
using google::protobuf::util::MessageDifferencer;

namespace {

Execution execution(exv1::ExecutionPhase phase, uint64_t revision) {
  Execution e;
  e.mutable_metadata()->set_id("aex-01hzz8qk6m0000000000000000");
  set_revision(*e.mutable_metadata(), revision);
  e.mutable_spec()->set_message("review the diff");
  e.mutable_status()->set_phase(phase);
  return e;
}

Execution decode(const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  REQUIRE(message.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  Execution out;
  REQUIRE(out.ParseFromString(bytes));
  return out;
}

}  // namespace

TEST_CASE("snapshot: carries the execution's encoding, revision and whether it is terminal") {
  const Execution running = execution(exv1::EXECUTION_IN_PROGRESS, 7);
  auto s = model::make_snapshot(running);
  CHECK(s->revision == 7);
  CHECK_FALSE(s->terminal);
  CHECK(MessageDifferencer::Equals(decode(s->message()), running));
  for (auto phase :
       {exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED, exv1::EXECUTION_TERMINATED})
    CHECK(model::make_snapshot(execution(phase, 1))->terminal);
}

TEST_CASE("snapshot: made from a stored row it hands out the row's body unchanged") {
  const Execution done = execution(exv1::EXECUTION_COMPLETED, 3);
  auto s = model::make_snapshot(3, exv1::EXECUTION_COMPLETED, done.SerializeAsString());
  CHECK(s->revision == 3);
  CHECK(s->terminal);
  CHECK(MessageDifferencer::Equals(decode(s->message()), done));
}

TEST_CASE("snapshot: every message made from it refers to the same bytes") {
  auto s = model::make_snapshot(execution(exv1::EXECUTION_PENDING, 1));
  std::vector<grpc::Slice> a, b;
  REQUIRE(s->message().Dump(&a).ok());
  REQUIRE(s->message().Dump(&b).ok());
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].begin() == s->bytes.begin());
  CHECK(b[0].begin() == s->bytes.begin());
}
