#include "pipeline/resources.h"

#include "pipeline/resource_steps.h"
#include "pipeline/step.h"

namespace aexd::pipeline {
namespace {

template <class T>
using CreatePipeline = Pipeline<ResourceContext<T>, ValidateFieldConstraints, CheckReferences, ResolveSlug,
                                BuildNewState, EnsureSlugUnique, Persist>;
// The stored resource comes first: what the request leaves empty of its fixed fields is the stored
// value, and only then can the request be judged as a whole.
template <class T>
using UpdatePipeline = Pipeline<ResourceContext<T>, LoadStored, KeepFixedFields, ValidateFieldConstraints, CheckVersion,
                                CheckReferences, CarryOverStored, ResolveSlug, EnsureSlugUnique, Persist>;
template <class T>
using DeletePipeline = Pipeline<ResourceContext<T>, LoadStored, RemoveWithDependents>;

template <class Ref>
grpc::Status must_exist(store::Reader& db, const std::string& id) {
  std::optional<Ref> found;
  return load(db, id, found);
}

/// A reference that an update may not move (sessions and executions hang off it).
grpc::Status keep_reference(std::string_view field, std::string* sent, const std::string& stored) {
  if (sent->empty()) *sent = stored;
  return *sent == stored ? grpc::Status::OK : errors::invalid(field, "cannot be changed by update");
}

/// Agents and instances: a delete is refused while sessions use them.
template <class T>
grpc::Status check_no_sessions(ResourceContext<T>& ctx) {
  const std::string& id = ctx.stored->metadata().id();
  int64_t sessions = 0;
  grpc::Status counted;
  if constexpr (std::is_same_v<T, Agent>) {
    counted = ctx.tx.count_sessions_of_agent(id, sessions);
  } else {
    counted = ctx.tx.count_sessions_of_instance(id, sessions);
  }
  if (!counted.ok()) return counted;
  return check_unused(KindOf<T>::name, id, sessions);
}

template <class Steps, class T>
grpc::Status run(store::Tx& tx, const T& request, const google::protobuf::Timestamp& now, T& out) {
  ResourceContext<T> ctx(tx, request, now);
  auto status = Steps::run(ctx);
  if (status.ok()) out = std::move(ctx.resource);
  return status;
}

}  // namespace

template <>
grpc::Status check_references(store::Reader&, Agent&, const std::optional<Agent>&) {
  return grpc::Status::OK;
}

template <>
grpc::Status check_references(store::Reader& db, AgentInstance& r, const std::optional<AgentInstance>& stored) {
  if (stored) return keep_reference("spec.agent_id", r.mutable_spec()->mutable_agent_id(), stored->spec().agent_id());
  return must_exist<Agent>(db, r.spec().agent_id());
}

template <>
grpc::Status check_references(store::Reader& db, Session& r, const std::optional<Session>& stored) {
  if (stored)
    return keep_reference("spec.agent_instance_id", r.mutable_spec()->mutable_agent_instance_id(),
                          stored->spec().agent_instance_id());
  return must_exist<AgentInstance>(db, r.spec().agent_instance_id());
}

template <>
grpc::Status check_references(store::Reader&, Execution& r, const std::optional<Execution>& stored) {
  auto* spec = r.mutable_spec();
  if (auto s = keep_reference("spec.session_id", spec->mutable_session_id(), stored->spec().session_id()); !s.ok())
    return s;
  return keep_reference("spec.agent_id", spec->mutable_agent_id(), stored->spec().agent_id());
}

template <>
grpc::Status remove_with_dependents(ResourceContext<Agent>& ctx) {
  const std::string& id = ctx.stored->metadata().id();
  if (auto s = check_no_sessions(ctx); !s.ok()) return s;
  std::vector<AgentInstance> instances;
  if (auto s = ctx.tx.instances_of_agent(id, instances); !s.ok()) return s;
  for (const auto& instance : instances)
    if (auto s = ctx.tx.remove(instance); !s.ok()) return s;
  return ctx.tx.remove(*ctx.stored);
}

template <>
grpc::Status remove_with_dependents(ResourceContext<AgentInstance>& ctx) {
  const std::string& id = ctx.stored->metadata().id();
  if (auto s = check_no_sessions(ctx); !s.ok()) return s;
  std::optional<Agent> agent;
  if (auto s = ctx.tx.find(ctx.stored->spec().agent_id(), agent); !s.ok()) return s;
  if (agent) {
    Agent updated = *agent;
    if (forget_default_instance(updated, id, ctx.now))
      if (auto s = ctx.tx.replace(updated, *agent); !s.ok()) return s;
  }
  return ctx.tx.remove(*ctx.stored);
}

template <>
grpc::Status remove_with_dependents(ResourceContext<Session>& ctx) {
  std::vector<Execution> executions;
  if (auto s = ctx.tx.executions_of_session(ctx.stored->metadata().id(), executions); !s.ok()) return s;
  for (const auto& execution : executions)
    if (auto s = ctx.tx.remove(execution); !s.ok()) return s;
  return ctx.tx.remove(*ctx.stored);
}

template <>
grpc::Status remove_with_dependents(ResourceContext<Execution>& ctx) {
  return ctx.tx.remove(*ctx.stored);
}

template <class T>
grpc::Status create_at(store::Tx& tx, const T& request, const google::protobuf::Timestamp& now, T& out) {
  return run<CreatePipeline<T>>(tx, request, now, out);
}

template <class T>
grpc::Status create(store::Tx& tx, const T& request, T& out) {
  return create_at(tx, request, aexd::now(), out);
}

template <class T>
grpc::Status update(store::Tx& tx, const T& request, T& out) {
  return run<UpdatePipeline<T>>(tx, request, aexd::now(), out);
}

template <class T>
grpc::Status apply(store::Tx& tx, const T& request, T& out) {
  const auto& m = request.metadata();
  if (!m.id().empty()) {
    std::optional<T> stored;
    if (auto s = tx.find(m.id(), stored); !s.ok()) return s;
    if (stored) return update(tx, request, out);
  }
  if constexpr (kSlugUnique<T>) {
    std::string holder;
    if (auto s = slug_holder<T>(tx, m, m.slug().empty() ? slugify(m.name()) : m.slug(), holder); !s.ok()) return s;
    if (!holder.empty()) {
      T named = request;
      named.mutable_metadata()->set_id(holder);
      return update(tx, named, out);
    }
  }
  return create(tx, request, out);
}

template <class T>
grpc::Status remove(store::Tx& tx, std::string_view id, T& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  ResourceContext<T> ctx(tx, T{}, aexd::now());
  ctx.resource.mutable_metadata()->set_id(std::string(id));
  auto status = DeletePipeline<T>::run(ctx);
  if (status.ok()) out = std::move(*ctx.stored);
  return status;
}

template <class T>
grpc::Status get(store::Reader& db, std::string_view id, T& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  std::optional<T> found;
  if (auto s = load(db, id, found); !s.ok()) return s;
  out = std::move(*found);
  return grpc::Status::OK;
}

template <class T>
grpc::Status get_by_reference(store::Reader& db, const res::ApiResourceReference& ref, T& out) {
  namespace kinds = res::apiresourcekind;
  constexpr auto kind = std::is_same_v<T, Agent> ? kinds::agent : kinds::agent_instance;
  if (ref.kind() != kinds::api_resource_kind_unknown && ref.kind() != kind)
    return errors::invalid("kind", "must be " + kinds::ApiResourceKind_Name(kind) + " (or unset) for this service");
  if (ref.scope() == res::api_resource_owner_scope_unspecified) return errors::invalid("scope", "is required");
  if (!res::ApiResourceOwnerScope_IsValid(ref.scope()))
    return errors::invalid("scope", "undefined value " + std::to_string(ref.scope()));
  if (ref.slug().empty()) return errors::invalid("slug", "is required");
  std::string id;
  grpc::Status looked_up;
  if (ref.scope() == res::organization) {
    res::ApiResourceMetadata scope;
    scope.set_owner_scope(ref.scope());
    scope.set_org(ref.org());
    looked_up = slug_holder<T>(db, scope, ref.slug(), id);
  } else if constexpr (std::is_same_v<T, Agent>) {
    looked_up = db.agent_by_slug_in_any_org(ref.scope(), ref.slug(), id);
  } else {
    looked_up = db.instance_by_slug_in_any_org(ref.scope(), ref.slug(), id);
  }
  if (!looked_up.ok()) return looked_up;
  const std::string named = res::ApiResourceOwnerScope_Name(ref.scope()) +
                            (ref.scope() == res::organization ? "/" + ref.org() : "") + "/" + ref.slug();
  if (id.empty()) return errors::not_found(KindOf<T>::name, named);
  std::optional<T> found;
  if (auto s = load(db, id, found); !s.ok()) return s;  // deleted since the lookup: NOT_FOUND too
  out = std::move(*found);
  return grpc::Status::OK;
}

grpc::Status get_snapshot(store::Reader& db, std::string_view id, model::SnapshotPtr& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  if (auto s = db.find_snapshot(id, out); !s.ok()) return s;
  return out ? grpc::Status::OK : errors::not_found(KindOf<Execution>::name, id);
}

#define AEXD_OPERATIONS(T)                                           \
  template grpc::Status update<T>(store::Tx&, const T&, T&);         \
  template grpc::Status remove<T>(store::Tx&, std::string_view, T&); \
  template grpc::Status get<T>(store::Reader&, std::string_view, T&);
AEXD_OPERATIONS(Agent)
AEXD_OPERATIONS(AgentInstance)
AEXD_OPERATIONS(Session)
AEXD_OPERATIONS(Execution)
#undef AEXD_OPERATIONS
#define AEXD_CREATES(T)                                                                             \
  template grpc::Status create<T>(store::Tx&, const T&, T&);                                        \
  template grpc::Status create_at<T>(store::Tx&, const T&, const google::protobuf::Timestamp&, T&); \
  template grpc::Status apply<T>(store::Tx&, const T&, T&);
AEXD_CREATES(Agent)
AEXD_CREATES(AgentInstance)
AEXD_CREATES(Session)
#undef AEXD_CREATES
template grpc::Status get_by_reference<Agent>(store::Reader&, const res::ApiResourceReference&, Agent&);
template grpc::Status get_by_reference<AgentInstance>(store::Reader&, const res::ApiResourceReference&, AgentInstance&);

}  // namespace aexd::pipeline
