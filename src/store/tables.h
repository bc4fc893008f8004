// Typed access to the resource tables: each row is the message's binary plus its indexed columns.
// Callers pass the state before a change so tags can be rewritten only when they differ.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.h"
#include "store/snapshot.h"
#include "store/sqlite.h"

namespace aexd::store {

template <class T>
std::optional<T> load(Connection& db, std::string_view id);
template <class T>
void insert(Connection& db, const T& resource);
template <class T>
void replace(Connection& db, const T& now, const T& before);
template <class T>
void remove(Connection& db, const T& before);
/// An execution's row takes its body from the snapshot the write already encoded for watchers.
void insert(Connection& db, const Execution& execution, const Snapshot& encoded);
void replace(Connection& db, const Execution& now, const Execution& before, const Snapshot& encoded);
/// A status write: only the phase, revision and body change (a status write leaves the spec and
/// metadata alone). Indexes and counts are rewritten only when the phase moved from `before`.
void replace_status(Connection& db, const Execution& now, Phase before, const Snapshot& encoded);

/// Id of the agent or agent instance holding `slug` in (owner_scope, org), if any.
template <class T>
std::optional<std::string> id_by_slug(Connection& db, const res::ApiResourceMetadata& metadata,
                                      std::string_view slug);

int64_t count_sessions_of_instance(Connection& db, std::string_view instance_id);
int64_t count_sessions_of_agent(Connection& db, std::string_view agent_id);
std::vector<std::string> instance_ids_of_agent(Connection& db, std::string_view agent_id);
std::vector<std::string> execution_ids_of_session(Connection& db, std::string_view session_id);

/// The stored execution as its row holds it, without decoding the body.
std::shared_ptr<const Snapshot> load_snapshot(Connection& db, std::string_view execution_id);

}  // namespace aexd::store
