// The operations of every kind, as pipelines of steps. Writes run inside a write job (store::Tx);
// reads on a store::Reader. Each reads the clock once, at its start.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <string>
#include <string_view>

#include "domain/status.h"
#include "domain/types.h"
#include "model/snapshot.h"
#include "store/storage.h"

namespace aexd::pipeline {

template <class T>
grpc::Status create(store::Tx& tx, const T& request, T& out);
/// As create, at the clock of the write it is part of (an agent-mode execution creates its
/// default instance and its session this way).
template <class T>
grpc::Status create_at(store::Tx& tx, const T& request, const google::protobuf::Timestamp& now, T& out);
/// Replaces spec and metadata of the resource named by metadata.id.
template <class T>
grpc::Status update(store::Tx& tx, const T& request, T& out);
/// Upsert: by metadata.id, else (agents, instances) by slug in the owner scope and org, else create.
template <class T>
grpc::Status apply(store::Tx& tx, const T& request, T& out);
/// Deletes and returns the resource as it was, with the dependents API.md names.
template <class T>
grpc::Status remove(store::Tx& tx, std::string_view id, T& out);
template <class T>
grpc::Status get(store::Reader& db, std::string_view id, T& out);
/// Agents and instances by (scope, org, slug); org counts only in the organization scope. An empty
/// or incomplete reference is INVALID_ARGUMENT (Stigmer's CLI pings with one), an unknown one NOT_FOUND.
template <class T>
grpc::Status get_by_reference(store::Reader& db, const res::ApiResourceReference& ref, T& out);
/// An execution as stored, still encoded.
grpc::Status get_snapshot(store::Reader& db, std::string_view id, model::SnapshotPtr& out);

/// What makes a create idempotent: the client's key (read from its request header by the api)
/// and its request's fingerprint; a key older than `ttl` no longer counts.
struct Idempotency {
  std::string key;
  std::string fingerprint;
  std::chrono::milliseconds ttl;
};

/// The execution create pipeline (session mode or agent mode), all in the caller's transaction.
/// `encoded`, when given, receives the stored state as encoded once for the row and the watchers.
/// With `idempotency`, a repeat of a create whose execution still exists returns that execution's
/// current state and writes nothing; the same key with another request is ALREADY_EXISTS.
grpc::Status create_execution(store::Tx& tx, const Execution& request, Execution& out,
                              model::SnapshotPtr* encoded = nullptr, const Idempotency* idempotency = nullptr);
/// Merges a status update into the stored execution and bumps its revision.
grpc::Status update_status(store::Tx& tx, const exv1::AgentExecutionUpdateStatusInput& input, Execution& out,
                           model::SnapshotPtr* encoded = nullptr);
/// cancel/terminate/pause/resume: idempotent in the target phase, FAILED_PRECONDITION elsewhere.
grpc::Status transition(store::Tx& tx, std::string_view id, Lifecycle op, std::string_view reason, Execution& out);

}  // namespace aexd::pipeline
