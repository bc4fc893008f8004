#include "pipeline/resources.h"

#include "pipeline/step.h"

namespace aexd::pipeline {
namespace {

template <class T>
using CreatePipeline = Pipeline<ResourceContext<T>, ValidateFieldConstraints, CheckReferences, ResolveSlug,
                                BuildNewState, EnsureSlugUnique, Persist>;
template <class T>
using UpdatePipeline = Pipeline<ResourceContext<T>, ValidateFieldConstraints, LoadStored, CheckVersion,
                                CheckReferences, CarryOverStored, ResolveSlug, EnsureSlugUnique, Persist>;
template <class T>
using DeletePipeline = Pipeline<ResourceContext<T>, LoadStored, RemoveWithDependents>;

template <class Ref>
grpc::Status must_exist(store::Connection& db, const std::string& id) {
  return store::load<Ref>(db, id) ? grpc::Status::OK : errors::not_found(KindOf<Ref>::name, id);
}

/// A reference that an update may not move (sessions and executions hang off it).
grpc::Status keep_reference(std::string_view field, std::string* sent, const std::string& stored) {
  if (sent->empty()) *sent = stored;
  return *sent == stored ? grpc::Status::OK : errors::invalid(field, "cannot be changed by update");
}

std::string sessions_block(std::string_view kind, const std::string& id, int64_t sessions) {
  return std::string(kind) + " " + id + " still has " + std::to_string(sessions) +
         " session(s); delete those sessions first";
}

}  // namespace

template <>
grpc::Status check_references(store::Connection&, Agent&, const std::optional<Agent>&) {
  return grpc::Status::OK;
}

template <>
grpc::Status check_references(store::Connection& db, AgentInstance& r, const std::optional<AgentInstance>& stored) {
  if (stored) return keep_reference("spec.agent_id", r.mutable_spec()->mutable_agent_id(), stored->spec().agent_id());
  return must_exist<Agent>(db, r.spec().agent_id());
}

template <>
grpc::Status check_references(store::Connection& db, Session& r, const std::optional<Session>& stored) {
  if (stored)
    return keep_reference("spec.agent_instance_id", r.mutable_spec()->mutable_agent_instance_id(),
                          stored->spec().agent_instance_id());
  return must_exist<AgentInstance>(db, r.spec().agent_instance_id());
}

template <>
grpc::Status check_references(store::Connection&, Execution& r, const std::optional<Execution>& stored) {
  auto* spec = r.mutable_spec();
  if (auto s = keep_reference("spec.session_id", spec->mutable_session_id(), stored->spec().session_id()); !s.ok())
    return s;
  return keep_reference("spec.agent_id", spec->mutable_agent_id(), stored->spec().agent_id());
}

template <>
grpc::Status remove_with_dependents(store::WriteTx& tx, const Agent& agent) {
  const std::string& id = agent.metadata().id();
  if (const int64_t n = store::count_sessions_of_agent(tx.db, id); n > 0)
    return errors::failed_precondition(sessions_block("Agent", id, n));
  for (const auto& instance_id : store::instance_ids_of_agent(tx.db, id))
    if (auto instance = store::load<AgentInstance>(tx.db, instance_id)) store::remove(tx.db, *instance);
  store::remove(tx.db, agent);
  return grpc::Status::OK;
}

template <>
grpc::Status remove_with_dependents(store::WriteTx& tx, const AgentInstance& instance) {
  const std::string& id = instance.metadata().id();
  if (const int64_t n = store::count_sessions_of_instance(tx.db, id); n > 0)
    return errors::failed_precondition(sessions_block("AgentInstance", id, n));
  // An agent must not keep pointing at a default instance that is gone.
  auto agent = store::load<Agent>(tx.db, instance.spec().agent_id());
  if (agent && agent->status().default_instance_id() == id) {
    Agent updated = *agent;
    updated.mutable_status()->clear_default_instance_id();
    stamp_status_updated(*updated.mutable_status()->mutable_audit(), now());
    set_revision(*updated.mutable_metadata(), revision_of(agent->metadata()) + 1);
    store::replace(tx.db, updated, *agent);
  }
  store::remove(tx.db, instance);
  return grpc::Status::OK;
}

template <>
grpc::Status remove_with_dependents(store::WriteTx& tx, const Session& session) {
  for (const auto& execution_id : store::execution_ids_of_session(tx.db, session.metadata().id())) {
    if (auto execution = store::load<Execution>(tx.db, execution_id)) store::remove(tx.db, *execution);
    tx.deleted(execution_id);
  }
  store::remove(tx.db, session);
  return grpc::Status::OK;
}

template <>
grpc::Status remove_with_dependents(store::WriteTx& tx, const Execution& execution) {
  store::remove(tx.db, execution);
  tx.deleted(execution.metadata().id());
  return grpc::Status::OK;
}

template <>
std::string default_name<Agent>(const std::string&) { return {}; }
template <>
std::string default_name<AgentInstance>(const std::string&) { return {}; }
template <>
std::string default_name<Session>(const std::string& id) {
  return "session-" + id.substr(kSessionPrefix.size() + 1);
}
template <>
std::string default_name<Execution>(const std::string& id) { return id; }

template <class Steps, class T>
grpc::Status run(store::WriteTx& tx, const T& request, T& out) {
  ResourceContext<T> ctx(tx, request);
  auto status = Steps::run(ctx);
  if (status.ok()) out = std::move(ctx.resource);
  return status;
}

template <class T>
grpc::Status create(store::WriteTx& tx, const T& request, T& out) {
  return run<CreatePipeline<T>>(tx, request, out);
}

template <class T>
grpc::Status update(store::WriteTx& tx, const T& request, T& out) {
  return run<UpdatePipeline<T>>(tx, request, out);
}

template <class T>
grpc::Status apply(store::WriteTx& tx, const T& request, T& out) {
  const auto& m = request.metadata();
  if (!m.id().empty() && store::load<T>(tx.db, m.id())) return update(tx, request, out);
  if constexpr (kSlugUnique<T>) {
    const std::string slug = m.slug().empty() ? slugify(m.name()) : m.slug();
    if (auto holder = store::id_by_slug<T>(tx.db, m, slug)) {
      T named = request;
      named.mutable_metadata()->set_id(*holder);
      return update(tx, named, out);
    }
  }
  return create(tx, request, out);
}

template <class T>
grpc::Status remove(store::WriteTx& tx, std::string_view id, T& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  ResourceContext<T> ctx(tx, T{});
  ctx.resource.mutable_metadata()->set_id(std::string(id));
  auto status = DeletePipeline<T>::run(ctx);
  if (status.ok()) out = std::move(*ctx.stored);
  return status;
}

template <class T>
grpc::Status get(store::Connection& db, std::string_view id, T& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  auto found = store::load<T>(db, id);
  if (!found) return errors::not_found(KindOf<T>::name, id);
  out = std::move(*found);
  return grpc::Status::OK;
}

grpc::Status get_snapshot(store::Connection& db, std::string_view id, std::shared_ptr<const store::Snapshot>& out) {
  if (auto s = validate_id("value", id); !s.ok()) return s;
  out = store::load_snapshot(db, id);
  return out ? grpc::Status::OK : errors::not_found("AgentExecution", id);
}

#define AEXD_OPERATIONS(T)                                                         \
  template grpc::Status update<T>(store::WriteTx&, const T&, T&);                  \
  template grpc::Status remove<T>(store::WriteTx&, std::string_view, T&);          \
  template grpc::Status get<T>(store::Connection&, std::string_view, T&);
AEXD_OPERATIONS(Agent)
AEXD_OPERATIONS(AgentInstance)
AEXD_OPERATIONS(Session)
AEXD_OPERATIONS(Execution)
#undef AEXD_OPERATIONS
template grpc::Status create<Agent>(store::WriteTx&, const Agent&, Agent&);
template grpc::Status create<AgentInstance>(store::WriteTx&, const AgentInstance&, AgentInstance&);
template grpc::Status create<Session>(store::WriteTx&, const Session&, Session&);
template grpc::Status apply<Agent>(store::WriteTx&, const Agent&, Agent&);
template grpc::Status apply<AgentInstance>(store::WriteTx&, const AgentInstance&, AgentInstance&);
template grpc::Status apply<Session>(store::WriteTx&, const Session&, Session&);

}  // namespace aexd::pipeline
