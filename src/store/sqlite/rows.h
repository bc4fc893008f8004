// Typed access to the resource tables: each row is the message's binary plus its indexed columns.
// Callers pass the state before a change so tags can be rewritten only when they differ. Throws
// sqlite::Error; call on the connection's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.h"
#include "model/snapshot.h"
#include "store/sqlite/connection.h"

namespace aexd::store::sqlite {

template <class T>
std::optional<T> load(Connection& db, std::string_view id);
template <class T>
void insert(Connection& db, const T& resource);
template <class T>
void replace(Connection& db, const T& now, const T& before);
template <class T>
void remove(Connection& db, const T& before);
/// An execution's row takes its body from the snapshot the write already encoded for watchers.
void insert(Connection& db, const Execution& execution, const model::Snapshot& encoded);
void replace(Connection& db, const Execution& now, const Execution& before, const model::Snapshot& encoded);
/// A status write: only the phase, revision and body change (a status write leaves the spec and
/// metadata alone). Indexes and counts are rewritten only when the phase moved from `before`.
void replace_status(Connection& db, const Execution& now, Phase before, const model::Snapshot& encoded);

/// Id of the agent or agent instance holding `slug` in (owner_scope, org), if any.
template <class T>
std::optional<std::string> id_by_slug(Connection& db, const res::ApiResourceMetadata& metadata, std::string_view slug);
/// The oldest agent or agent instance holding `slug` in `scope`, in any org, if any.
template <class T>
std::optional<std::string> id_by_slug_in_any_org(Connection& db, res::ApiResourceOwnerScope scope,
                                                 std::string_view slug);

int64_t count_sessions_of_instance(Connection& db, std::string_view instance_id);
int64_t count_sessions_of_agent(Connection& db, std::string_view agent_id);
/// Newest first.
std::vector<AgentInstance> instances_of_agent(Connection& db, std::string_view agent_id);
std::vector<Execution> executions_of_session(Connection& db, std::string_view session_id);

/// Ids of executions that ended at or before `before_ms`, oldest first, at most `limit`: a range
/// of the ended-time index (kEndedBefore, parameters before_ms and limit).
std::vector<std::string> ended_before(Connection& db, int64_t before_ms, int limit);
inline constexpr const char* kEndedBefore =
    "SELECT id FROM executions WHERE ended_ms IS NOT NULL AND ended_ms <= ? ORDER BY ended_ms, id LIMIT ?";
/// When the execution that ended first ended; nullopt when none has (kOldestEnded).
std::optional<int64_t> oldest_ended(Connection& db);
inline constexpr const char* kOldestEnded = "SELECT min(ended_ms) FROM executions WHERE ended_ms IS NOT NULL";

/// The stored execution as its row holds it, without decoding the body.
model::SnapshotPtr load_snapshot(Connection& db, std::string_view execution_id);

/// A row's body decoded; Error (SQLITE_CORRUPT) naming the row when it cannot be.
template <class T>
T parse(std::string_view id, std::string_view body) {
  T r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size())))
    throw Error(SQLITE_CORRUPT, std::string(KindOf<T>::name) + " " + std::string(id) + " is unreadable");
  return r;
}

}  // namespace aexd::store::sqlite
