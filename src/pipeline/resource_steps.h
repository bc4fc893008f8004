// The steps shared by every kind's pipelines (create, update, delete), and their context. Steps
// run inside a write job (store::Tx) on the storage's writer.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>

#include "domain/audit.h"
#include "domain/errors.h"
#include "domain/resources.h"
#include "domain/slug.h"
#include "domain/types.h"
#include "domain/validation.h"
#include "model/snapshot.h"
#include "store/storage.h"

namespace aexd::pipeline {

template <class T>
struct ResourceContext {
  ResourceContext(store::Tx& tx, T request, const google::protobuf::Timestamp& now)
      : tx(tx), resource(std::move(request)), now(now) {}

  store::Tx& tx;
  T resource;                             // the request, turned step by step into the state to store
  std::optional<T> stored;                // the current row, when changing an existing resource
  const google::protobuf::Timestamp now;  // the write's one reading of the clock
  model::SnapshotPtr encoded;             // an execution's new state as Persist stored it
};

/// The stored `T` named `id` into `out`, or NOT_FOUND naming it.
template <class T>
grpc::Status load(store::Reader& db, std::string_view id, std::optional<T>& out) {
  if (auto s = db.find(id, out); !s.ok()) return s;
  return out ? grpc::Status::OK : errors::not_found(KindOf<T>::name, id);
}

/// Kind-specific rules, defined in resources.cpp.
template <class T>
grpc::Status check_references(store::Reader& db, T& resource, const std::optional<T>& stored);
template <class T>
grpc::Status remove_with_dependents(ResourceContext<T>& ctx);

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
      // Agents and instances are found by slug, so an empty one would name none of them (and all at once).
      if (kSlugUnique<decltype(ctx.resource)> && m.slug().empty())
        return errors::invalid("metadata.name",
                               "needs a letter or digit to derive the slug from, or send metadata.slug");
    } else if (slugify(m.slug()) != m.slug()) {
      return errors::invalid("metadata.slug", "may contain only a-z, 0-9 and inner hyphens");
    }
    return grpc::Status::OK;
  }
};

/// Id of the agent or agent instance holding `slug` in the owner scope and org of `scope`, or empty.
template <class T>
grpc::Status slug_holder(store::Reader& db, const res::ApiResourceMetadata& scope, std::string_view slug,
                         std::string& id) {
  if constexpr (std::is_same_v<T, Agent>) {
    return db.agent_by_slug(scope, slug, id);
  } else {
    return db.instance_by_slug(scope, slug, id);
  }
}

/// Agents and agent instances: names the holder of a taken slug (the storage's constraint is what
/// guarantees uniqueness; this makes the common case's error say who holds it).
struct EnsureSlugUnique {
  static constexpr std::string_view name() { return "EnsureSlugUnique"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    using T = decltype(ctx.resource);
    if constexpr (kSlugUnique<T>) {
      const auto& m = ctx.resource.metadata();
      std::string holder;
      if (auto s = slug_holder<T>(ctx.tx, m, m.slug(), holder); !s.ok()) return s;
      if (!holder.empty() && holder != m.id())
        return errors::already_exists(std::string(KindOf<T>::name) + " with slug '" + errors::excerpt(m.slug()) +
                                      "' already exists in this owner scope and org: " + holder);
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
    return check_references(ctx.tx, ctx.resource, ctx.stored);
  }
};

struct LoadStored {
  static constexpr std::string_view name() { return "LoadStored"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    const std::string& id = ctx.resource.metadata().id();
    if (id.empty()) return errors::invalid("metadata.id", "is required");
    return load(ctx.tx, id, ctx.stored);
  }
};

/// An update keeps what places a resource: its org and owner scope (slug uniqueness, listings and
/// ownership hang off them). Empty means the stored value; for owner_scope that is 0, which no
/// stored agent or session holds, so "unspecified" can only mean "unchanged".
struct KeepFixedFields {
  static constexpr std::string_view name() { return "KeepFixedFields"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    auto& m = *ctx.resource.mutable_metadata();
    const auto& old = ctx.stored->metadata();
    if (m.org().empty()) m.set_org(old.org());
    if (m.org() != old.org())
      return errors::invalid("metadata.org",
                             "cannot be changed by update (it is '" + errors::excerpt(old.org()) + "')");
    if (m.owner_scope() == res::api_resource_owner_scope_unspecified) m.set_owner_scope(old.owner_scope());
    // An undefined scope is left for ValidateFieldConstraints, which names it as undefined.
    if (m.owner_scope() != old.owner_scope() && res::ApiResourceOwnerScope_IsValid(m.owner_scope()))
      return errors::invalid("metadata.owner_scope", "cannot be changed by update (it is " +
                                                         res::ApiResourceOwnerScope_Name(old.owner_scope()) + ")");
    return grpc::Status::OK;
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
      return errors::aborted("metadata.version.id: revision " + errors::excerpt(expected) +
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
    m.mutable_version()->set_id(old.version().id());  // record_change counts on from the stored revision
    *ctx.resource.mutable_status() = ctx.stored->status();
    record_change(ctx.resource, Changed::spec, ctx.now);
    return grpc::Status::OK;
  }
};

/// Stores the new state; an execution's is encoded once here, for the row, its watchers and the reply.
struct Persist {
  static constexpr std::string_view name() { return "Persist"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    if constexpr (std::is_same_v<decltype(ctx.resource), Execution>) {
      ctx.encoded = model::make_snapshot(ctx.resource);
      return ctx.stored ? ctx.tx.replace(ctx.resource, *ctx.stored, ctx.encoded)
                        : ctx.tx.insert(ctx.resource, ctx.encoded);
    } else {
      return ctx.stored ? ctx.tx.replace(ctx.resource, *ctx.stored) : ctx.tx.insert(ctx.resource);
    }
  }
};

struct RemoveWithDependents {
  static constexpr std::string_view name() { return "RemoveWithDependents"; }
  template <class Ctx>
  grpc::Status run(Ctx& ctx) const {
    return remove_with_dependents(ctx);
  }
};

}  // namespace aexd::pipeline
