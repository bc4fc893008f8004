// Rows for list tests: a migrated database in a temporary directory, and executions and sessions
// written through the store's own insert/replace/remove (so the count triggers run as in the server).
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "domain/audit.h"
#include "domain/types.h"
#include "store/sqlite/operations.h"
#include "store/sqlite/rows.h"
#include "support/temp_db.h"

namespace aexd::test {

class ListDb {
 public:
  store::sqlite::Connection& operator*() { return *db_; }
  store::sqlite::Connection* operator->() { return db_.get(); }
  std::string path() const { return temp_.path(); }
  /// The storage interface's reads on this connection.
  store::Reader& reader() { return reader_; }

 private:
  TempDb temp_;
  std::unique_ptr<store::sqlite::Connection> db_ = temp_.open();
  store::sqlite::Operations reader_{*db_, nullptr};
};

inline Execution add_execution(store::sqlite::Connection& db, const std::string& session_id, Phase phase,
                               std::initializer_list<std::string> tags = {}) {
  Execution e;
  auto& m = *e.mutable_metadata();
  m.set_id(new_id(kExecutionPrefix));
  m.set_name(m.id());
  for (const auto& tag : tags) m.add_tags(tag);
  set_revision(m, 1);
  e.mutable_spec()->set_session_id(session_id);
  e.mutable_spec()->set_agent_id("agt-test");
  e.mutable_spec()->set_message("hello");
  e.mutable_status()->set_phase(phase);
  store::sqlite::insert(db, e);
  return e;
}

inline AgentInstance add_instance(store::sqlite::Connection& db, const std::string& agent_id) {
  AgentInstance i;
  i.mutable_metadata()->set_id(new_id(kInstancePrefix));
  i.mutable_metadata()->set_slug(i.metadata().id());
  i.mutable_spec()->set_agent_id(agent_id);
  store::sqlite::insert(db, i);
  return i;
}

inline Session add_session(store::sqlite::Connection& db, const std::string& instance_id,
                           std::initializer_list<std::string> tags = {}) {
  Session s;
  s.mutable_metadata()->set_id(new_id(kSessionPrefix));
  for (const auto& tag : tags) s.mutable_metadata()->add_tags(tag);
  s.mutable_spec()->set_agent_instance_id(instance_id);
  store::sqlite::insert(db, s);
  return s;
}

}  // namespace aexd::test
