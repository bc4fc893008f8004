// The operations of every kind, as pipelines of steps. Writes run on the write strand inside a
// batch transaction (store::WriteTx); reads run on a reader connection.
#pragma once

#include <grpcpp/support/status.h>

#include <memory>
#include <string_view>

#include "domain/status.h"
#include "domain/types.h"
#include "pipeline/resource_steps.h"
#include "store/snapshot.h"
#include "store/sqlite.h"
#include "store/write_strand.h"

namespace aexd::pipeline {

template <class T>
grpc::Status create(store::WriteTx& tx, const T& request, T& out);
/// Replaces spec and metadata of the resource named by metadata.id.
template <class T>
grpc::Status update(store::WriteTx& tx, const T& request, T& out);
/// Upsert: by metadata.id, else (agents, instances) by slug in the owner scope and org, else create.
template <class T>
grpc::Status apply(store::WriteTx& tx, const T& request, T& out);
/// Deletes and returns the resource as it was, with the dependents API.md names.
template <class T>
grpc::Status remove(store::WriteTx& tx, std::string_view id, T& out);
template <class T>
grpc::Status get(store::Connection& db, std::string_view id, T& out);
/// An execution as stored, still encoded.
grpc::Status get_snapshot(store::Connection& db, std::string_view id, std::shared_ptr<const store::Snapshot>& out);

/// The execution create pipeline (session mode or agent mode), all in the caller's transaction.
grpc::Status create_execution(store::WriteTx& tx, const Execution& request, Execution& out,
                              const PersistFault* fault = nullptr);
/// Merges a status update into the stored execution and bumps its revision.
grpc::Status update_status(store::WriteTx& tx, const exv1::AgentExecutionUpdateStatusInput& input,
                           Execution& out);

/// cancel/terminate/pause/resume: idempotent in the target phase, FAILED_PRECONDITION elsewhere.
grpc::Status transition(store::WriteTx& tx, std::string_view id, Lifecycle op, std::string_view reason,
                        Execution& out);

}  // namespace aexd::pipeline
