// Pipeline tests: a migrated database in a temporary directory with a write transaction's
// operations over it (store::Tx, no strand), plus builders for valid requests.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "domain/types.h"
#include "pipeline/resources.h"
#include "store/sqlite/operations.h"
#include "store/sqlite/rows.h"
#include "unit/temp_db.h"

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
    const auto status = pipeline::create(tx, agent_request(name, scope, org), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }
  AgentInstance instance(const Agent& of, const std::string& name = "reviewer-prod") {
    AgentInstance out;
    const auto status = pipeline::create(tx, instance_request(of, name), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }
  Session session(const AgentInstance& on) {
    Session out;
    const auto status = pipeline::create(tx, session_request(on), out);
    REQUIRE_MESSAGE(status.ok(), status.error_message());
    return out;
  }

  static Agent agent_request(const std::string& name = "Code Reviewer",
                             res::ApiResourceOwnerScope scope = res::organization, const std::string& org = "acme") {
    Agent a;
    a.mutable_metadata()->set_name(name);
    a.mutable_metadata()->set_owner_scope(scope);
    a.mutable_metadata()->set_org(org);
    a.mutable_spec()->set_instructions("Review the diff carefully.");
    return a;
  }
  static AgentInstance instance_request(const Agent& of, const std::string& name = "reviewer-prod") {
    AgentInstance i;
    i.mutable_metadata()->set_name(name);
    i.mutable_metadata()->set_owner_scope(of.metadata().owner_scope());
    i.mutable_metadata()->set_org(of.metadata().org());
    i.mutable_spec()->set_agent_id(of.metadata().id());
    return i;
  }
  static Session session_request(const AgentInstance& on) {
    Session s;
    s.mutable_metadata()->set_owner_scope(res::organization);
    s.mutable_metadata()->set_org("acme");
    s.mutable_spec()->set_agent_instance_id(on.metadata().id());
    s.mutable_spec()->set_subject("triage");
    return s;
  }
  static Execution execution_for_agent(const std::string& agent_id) {
    Execution e;
    e.mutable_metadata();
    e.mutable_spec()->set_agent_id(agent_id);
    e.mutable_spec()->set_message("hello");
    return e;
  }
  static Execution execution_in_session(const std::string& session_id) {
    Execution e;
    e.mutable_metadata();
    e.mutable_spec()->set_session_id(session_id);
    e.mutable_spec()->set_message("hello");
    return e;
  }
};

}  // namespace aexd::test
