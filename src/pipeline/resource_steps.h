// The steps shared by every kind's pipelines (create, update, delete), and their context.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <functional>
#include <optional>
#include <string>

#include "domain/audit.h"
#include "domain/errors.h"
#include "domain/slug.h"
#include "domain/types.h"
#include "domain/validation.h"
#include "store/tables.h"
#include "store/write_strand.h"

namespace aexd::pipeline {

/// Test-only: a fault the Persist step returns after its writes, to prove they all roll back.
using PersistFault = std::function<grpc::Status(const google::protobuf::Message& resource)>;

template <class T>
struct ResourceContext {
  ResourceContext(store::WriteTx& tx, T request) : tx(tx), resource(std::move(request)) {}

  store::WriteTx& tx;
  T resource;               // the request, turned step by step into the state to store
  std::optional<T> stored;  // the current row, when changing an existing resource
  google::protobuf::Timestamp now = aexd::now();
  const PersistFault* persist_fault = nullptr;
};

/// Kind-specific rules, defined in resources.cpp.
template <class T>
grpc::Status check_references(store::Connection& db, T& resource, const std::optional<T>& stored);
template <class T>
grpc::Status remove_with_dependents(store::WriteTx& tx, const T& stored);
template <class T>
std::string default_name(const std::string& id);
template <class T>
inline constexpr bool kSlugUnique = std::is_same_v<T, Agent> || std::is_same_v<T, AgentInstance>;

struct ValidateFieldConstraints {
  static constexpr std::string_view name() { return "ValidateFieldConstraints"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    if (auto s = validate(ctx.resource); !s.ok()) return s;
    return fill_constants(ctx.resource);
  }
};

struct ResolveSlug {
  static constexpr std::string_view name() { return "ResolveSlug"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    auto& m = *ctx.resource.mutable_metadata();
    if (m.slug().empty()) {
      m.set_slug(slugify(m.name()));
    } else if (slugify(m.slug()) != m.slug()) {
      return errors::invalid("metadata.slug", "may contain only a-z, 0-9 and inner hyphens");
    }
    return grpc::Status::OK;
  }
};

/// Agents and agent instances: a slug is unique within (owner_scope, org).
struct EnsureSlugUnique {
  static constexpr std::string_view name() { return "EnsureSlugUnique"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    using T = decltype(ctx.resource);
    const auto& m = ctx.resource.metadata();
    if constexpr (kSlugUnique<T>) {
      auto holder = store::id_by_slug<T>(ctx.tx.db, m, m.slug());
      if (holder && *holder != m.id())
        return errors::already_exists(std::string(KindOf<T>::name) + " with slug '" + m.slug() +
                                      "' already exists in this owner scope and org: " + *holder);
    }
    return grpc::Status::OK;
  }
};

/// A new resource: fresh id (a client-sent one is ignored), cleared status, create audit, revision 1.
struct BuildNewState {
  static constexpr std::string_view name() { return "BuildNewState"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    using T = decltype(ctx.resource);
    auto& m = *ctx.resource.mutable_metadata();
    m.set_id(new_id(KindOf<T>::prefix));
    if (m.name().empty()) m.set_name(default_name<T>(m.id()));
    if (m.slug().empty()) m.set_slug(slugify(m.name()));
    ctx.resource.clear_status();
    stamp_created(*ctx.resource.mutable_status()->mutable_audit(), ctx.now);
    set_revision(m, 1);
    return grpc::Status::OK;
  }
};

struct CheckReferences {
  static constexpr std::string_view name() { return "CheckReferences"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    return check_references(ctx.tx.db, ctx.resource, ctx.stored);
  }
};

struct LoadStored {
  static constexpr std::string_view name() { return "LoadStored"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    using T = decltype(ctx.resource);
    const std::string& id = ctx.resource.metadata().id();
    if (id.empty()) return errors::invalid("metadata.id", "is required");
    ctx.stored = store::load<T>(ctx.tx.db, id);
    return ctx.stored ? grpc::Status::OK : errors::not_found(KindOf<T>::name, id);
  }
};

/// Optimistic concurrency: a client that names a revision must name the current one.
struct CheckVersion {
  static constexpr std::string_view name() { return "CheckVersion"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    const std::string& expected = ctx.resource.metadata().version().id();
    const std::string& current = ctx.stored->metadata().version().id();
    if (!expected.empty() && expected != current)
      return errors::aborted("metadata.version.id: revision " + expected +
                             " is not the current revision " + current);
    return grpc::Status::OK;
  }
};

/// An update replaces spec and metadata but keeps the id, the stored slug when none is sent,
/// and the status (only its spec audit moves).
struct CarryOverStored {
  static constexpr std::string_view name() { return "CarryOverStored"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    auto& m = *ctx.resource.mutable_metadata();
    const auto& old = ctx.stored->metadata();
    if (m.slug().empty()) m.set_slug(old.slug());
    if (m.name().empty()) m.set_name(old.name());
    *ctx.resource.mutable_status() = ctx.stored->status();
    stamp_spec_updated(*ctx.resource.mutable_status()->mutable_audit(), ctx.now);
    set_revision(m, revision_of(old) + 1);
    return grpc::Status::OK;
  }
};

struct Persist {
  static constexpr std::string_view name() { return "Persist"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    if constexpr (std::is_same_v<decltype(ctx.resource), Execution>) {
      // One encoding serves the row, the watchers, the cache and the reply.
      const store::Snapshot& encoded = ctx.tx.changed(ctx.resource);
      if (ctx.stored) {
        store::replace(ctx.tx.db, ctx.resource, *ctx.stored, encoded);
      } else {
        store::insert(ctx.tx.db, ctx.resource, encoded);
      }
    } else if (ctx.stored) {
      store::replace(ctx.tx.db, ctx.resource, *ctx.stored);
    } else {
      store::insert(ctx.tx.db, ctx.resource);
    }
    return ctx.persist_fault && *ctx.persist_fault ? (*ctx.persist_fault)(ctx.resource) : grpc::Status::OK;
  }
};

struct RemoveWithDependents {
  static constexpr std::string_view name() { return "RemoveWithDependents"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    return remove_with_dependents(ctx.tx, *ctx.stored);
  }
};

}  // namespace aexd::pipeline
