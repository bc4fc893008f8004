// Pipeline tests: a migrated database in a temporary directory with a write transaction's
// operations over it (store::Tx, no strand); valid requests come from support/requests.h.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "domain/types.h"
#include "pipeline/resources.h"
#include "store/sqlite/operations.h"
#include "store/sqlite/rows.h"
#include "support/requests.h"
#include "support/temp_db.h"

namespace aexd::test {

/// The execution a snapshot carries, decoded.
inline Execution decoded(const model::Snapshot& snapshot) {
  Execution out;
  REQUIRE(out.ParseFromArray(snapshot.bytes.begin(), static_cast<int>(snapshot.bytes.size())));
  return out;
}

struct StoreFixture {
  TempDb dir;
  std::unique_ptr<store::sqlite::Connection> db = dir.open();
  std::vector<model::ExecutionChange> changes;  // what the writes announced
  store::sqlite::Operations tx{*db, &changes};

  int64_t rows(const std::string& table) {
    auto q = db->query("SELECT count(*) FROM " + table);
    REQUIRE(q.step());
    return q.integer(0);
  }

  // Committed through the real pipelines, so later steps see what a client would have created.
  Agent agent(const std::string& name = "Code Reviewer", res::ApiResourceOwnerScope scope = res::organization,
              const std::string& org = "acme") {
    Agent out;
    const auto status = pipeline::create(tx, make_agent(name, scope, org), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }
  AgentInstance instance(const Agent& of, const std::string& name = "reviewer-prod") {
    AgentInstance out;
    const auto status = pipeline::create(
        tx, make_instance(of.metadata().id(), name, of.metadata().owner_scope(), of.metadata().org()), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }
  Session session(const AgentInstance& on) {
    Session out;
    const auto status = pipeline::create(tx, make_session(on.metadata().id()), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }
};

}  // namespace aexd::test
