#include "domain/validation.h"

#include <initializer_list>
#include <string>
#include <type_traits>

#include "domain/errors.h"

namespace aexd {
namespace {

using Scope = res::ApiResourceOwnerScope;

grpc::Status check_envelope(std::string_view api_version, std::string_view kind, std::string_view expected_kind,
                            bool has_metadata) {
  if (!api_version.empty() && api_version != kApiVersion)
    return errors::invalid("api_version", "must be \"" + std::string(kApiVersion) + "\"");
  if (!kind.empty() && kind != expected_kind)
    return errors::invalid("kind", "must be \"" + std::string(expected_kind) + "\"");
  if (!has_metadata) return errors::invalid("metadata", "is required");
  return grpc::Status::OK;
}

// A map iterates in an order that may differ between copies of one message; naming the smallest
// offending key gives one request one answer.
template <class Map, class Offends>
const std::string* smallest_key(const Map& map, Offends offends) {
  const std::string* found = nullptr;
  for (const auto& [key, value] : map)
    if ((found == nullptr || key < *found) && offends(value)) found = &key;
  return found;
}

grpc::Status undefined(const std::string& field, int value) {
  return errors::invalid(field, "undefined value " + std::to_string(value));
}

template <class T>
grpc::Status check_envelope(const T& r) {
  if (auto s = check_envelope(r.api_version(), r.kind(), KindOf<T>::name, r.has_metadata()); !s.ok()) return s;
  const int scope = r.metadata().owner_scope();
  return res::ApiResourceOwnerScope_IsValid(scope) ? grpc::Status::OK : undefined("metadata.owner_scope", scope);
}

grpc::Status check_tool_calls(const google::protobuf::RepeatedPtrField<exv1::ToolCall>& calls,
                              const std::string& path) {
  for (int i = 0; i < calls.size(); ++i)
    if (!exv1::ToolCallStatus_IsValid(calls[i].status()))
      return undefined(path + "[" + std::to_string(i) + "].status", calls[i].status());
  return grpc::Status::OK;
}

// Protobuf keeps an undefined number in an open enum field as it is; storing it would hand
// upstream clients a value they cannot name.
grpc::Status check_enums(const ExecutionStatus& status) {
  if (!exv1::ExecutionPhase_IsValid(status.phase())) return undefined("status.phase", status.phase());
  for (int i = 0; i < status.messages_size(); ++i) {
    const auto& message = status.messages(i);
    const std::string path = "status.messages[" + std::to_string(i) + "]";
    if (!exv1::MessageType_IsValid(message.type())) return undefined(path + ".type", message.type());
    if (auto s = check_tool_calls(message.tool_calls(), path + ".tool_calls"); !s.ok()) return s;
  }
  if (auto s = check_tool_calls(status.tool_calls(), "status.tool_calls"); !s.ok()) return s;
  if (const auto* key = smallest_key(status.todos(), [](const auto& todo) {
        return !exv1::TodoStatus_IsValid(todo.status());
      }))
    return undefined("status.todos[\"" + errors::excerpt(*key) + "\"].status", status.todos().at(*key).status());
  for (int i = 0; i < status.sub_agent_executions_size(); ++i) {
    const auto& sub = status.sub_agent_executions(i);
    if (!exv1::SubAgentStatus_IsValid(sub.status()))
      return undefined("status.sub_agent_executions[" + std::to_string(i) + "].status", sub.status());
  }
  return grpc::Status::OK;
}

// Lengths in the contract are buf.validate lengths: Unicode code points, not bytes.
size_t code_points(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

struct Bounded {
  std::string_view field;
  std::string_view value;
  size_t max;
};

grpc::Status check_lengths(std::initializer_list<Bounded> fields) {
  for (const auto& f : fields)
    if (auto s = check_length(f.field, f.value, f.max); !s.ok()) return s;
  return grpc::Status::OK;
}

grpc::Status check_each(const std::string& field, const google::protobuf::RepeatedPtrField<std::string>& values,
                        size_t max) {
  for (int i = 0; i < values.size(); ++i)
    if (auto s = check_length(field + "[" + std::to_string(i) + "]", values[i], max); !s.ok()) return s;
  return grpc::Status::OK;
}

/// Keys within kName; values within `max_value` when given (0: free text, not checked here).
template <class Map>
grpc::Status check_map(const std::string& field, const Map& map, size_t max_value) {
  for (const auto& [key, value] : map)
    if (key.size() > limits::kName)
      return errors::invalid(field, "has a key longer than " + std::to_string(limits::kName) + " bytes");
  if constexpr (std::is_same_v<typename Map::mapped_type, std::string>)
    if (max_value != 0)
      if (const auto* key = smallest_key(map, [&](const std::string& value) { return value.size() > max_value; }))
        return check_length(field + "[\"" + errors::excerpt(*key) + "\"]", map.at(*key), max_value);
  return grpc::Status::OK;
}

grpc::Status check_metadata(const res::ApiResourceMetadata& m) {
  if (auto s =
          check_lengths({{"metadata.id", m.id(), limits::kId},
                         {"metadata.name", m.name(), limits::kName},
                         {"metadata.slug", m.slug(), limits::kName},
                         {"metadata.org", m.org(), limits::kName},
                         {"metadata.version.id", m.version().id(), limits::kId},
                         {"metadata.version.previous_version_id", m.version().previous_version_id(), limits::kId}});
      !s.ok())
    return s;
  if (auto s = check_each("metadata.tags", m.tags(), limits::kName); !s.ok()) return s;
  if (auto s = check_map("metadata.labels", m.labels(), limits::kLabelValue); !s.ok()) return s;
  return check_map("metadata.annotations", m.annotations(), 0);
}

grpc::Status check_named(const res::ApiResourceMetadata& metadata) {
  if (metadata.name().empty() && metadata.slug().empty()) return errors::invalid("metadata.name", "must not be empty");
  return grpc::Status::OK;
}

}  // namespace

grpc::Status validate(const Agent& agent) {
  if (auto s = check_envelope(agent); !s.ok()) return s;
  const auto scope = agent.metadata().owner_scope();
  if (scope != res::platform && scope != res::organization)
    return errors::invalid("metadata.owner_scope", "must be platform or organization");
  if (auto s = check_named(agent.metadata()); !s.ok()) return s;
  if (code_points(agent.spec().instructions()) < 10)
    return errors::invalid("spec.instructions", "must be at least 10 characters");
  return grpc::Status::OK;
}

grpc::Status validate(const AgentInstance& instance) {
  if (auto s = check_envelope(instance); !s.ok()) return s;
  if (auto s = check_named(instance.metadata()); !s.ok()) return s;
  if (instance.spec().agent_id().empty()) return errors::invalid("spec.agent_id", "must not be empty");
  return grpc::Status::OK;
}

grpc::Status validate(const Session& session) {
  if (auto s = check_envelope(session); !s.ok()) return s;
  const auto scope = session.metadata().owner_scope();
  if (scope != res::organization && scope != res::identity_account)
    return errors::invalid("metadata.owner_scope", "must be organization or identity_account");
  if (session.spec().agent_instance_id().empty()) return errors::invalid("spec.agent_instance_id", "is required");
  return grpc::Status::OK;
}

grpc::Status validate(const Execution& execution) {
  if (auto s = check_envelope(execution); !s.ok()) return s;
  if (execution.metadata().owner_scope() != res::api_resource_owner_scope_unspecified)
    return errors::invalid("metadata.owner_scope", "must be unspecified for an execution");
  if (execution.spec().message().empty()) return errors::invalid("spec.message", "must not be empty");
  if (const auto* key = smallest_key(execution.spec().runtime_env(), [](const auto& env) { return env.value().empty(); }))
    return errors::invalid("spec.runtime_env[\"" + errors::excerpt(*key) + "\"].value", "must not be empty");
  return grpc::Status::OK;
}

grpc::Status validate(const exv1::AgentExecutionUpdateStatusInput& input) {
  if (input.execution_id().empty()) return errors::invalid("execution_id", "must not be empty");
  if (!input.has_status()) return errors::invalid("status", "is required");
  return check_enums(input.status());
}

grpc::Status validate_id(std::string_view field, std::string_view id) {
  return id.empty() ? errors::invalid(field, "is required") : grpc::Status::OK;
}

grpc::Status check_length(std::string_view field, std::string_view value, size_t max) {
  if (value.size() <= max) return grpc::Status::OK;
  return errors::invalid(field, "longer than " + std::to_string(max) + " bytes");
}

grpc::Status check_bounds(const Agent& request) { return check_metadata(request.metadata()); }

grpc::Status check_bounds(const AgentInstance& request) {
  if (auto s = check_metadata(request.metadata()); !s.ok()) return s;
  return check_length("spec.agent_id", request.spec().agent_id(), limits::kId);
}

grpc::Status check_bounds(const Session& request) {
  if (auto s = check_metadata(request.metadata()); !s.ok()) return s;
  const auto& spec = request.spec();
  if (auto s = check_lengths({{"spec.agent_instance_id", spec.agent_instance_id(), limits::kId},
                              {"spec.thread_id", spec.thread_id(), limits::kId},
                              {"spec.sandbox_id", spec.sandbox_id(), limits::kId}});
      !s.ok())
    return s;
  return check_map("spec.metadata", spec.metadata(), 0);
}

grpc::Status check_bounds(const Execution& request) {
  if (auto s = check_metadata(request.metadata()); !s.ok()) return s;
  const auto& spec = request.spec();
  if (auto s =
          check_lengths({{"spec.session_id", spec.session_id(), limits::kId},
                         {"spec.agent_id", spec.agent_id(), limits::kId},
                         {"spec.execution_config.model_name", spec.execution_config().model_name(), limits::kName}});
      !s.ok())
    return s;
  return check_map("spec.runtime_env", spec.runtime_env(), 0);
}

grpc::Status check_bounds(const exv1::AgentExecutionUpdateStatusInput& request) {
  return check_length("execution_id", request.execution_id(), limits::kId);
}

grpc::Status check_bounds(const res::ApiResourceReference& request) {
  return check_lengths({{"org", request.org(), limits::kName},
                        {"slug", request.slug(), limits::kName},
                        {"version", request.version(), limits::kId}});
}

grpc::Status check_bounds(const ai::stigmer::agentic::agentinstance::v1::GetAgentInstancesByAgentRequest& request) {
  return check_length("agent_id", request.agent_id(), limits::kId);
}

grpc::Status check_bounds(const ai::stigmer::agentic::session::v1::ListSessionsRequest& request) {
  if (auto s = check_length("page_token", request.page_token(), limits::kId); !s.ok()) return s;
  return check_each("tags", request.tags(), limits::kName);
}

grpc::Status check_bounds(const ai::stigmer::agentic::session::v1::ListSessionsByAgentRequest& request) {
  return check_lengths(
      {{"agent_id", request.agent_id(), limits::kId}, {"page_token", request.page_token(), limits::kId}});
}

grpc::Status check_bounds(const exv1::ListAgentExecutionsRequest& request) {
  if (auto s = check_length("page_token", request.page_token(), limits::kId); !s.ok()) return s;
  return check_each("tags", request.tags(), limits::kName);
}

grpc::Status check_bounds(const exv1::ListAgentExecutionsBySessionRequest& request) {
  return check_lengths(
      {{"session_id", request.session_id(), limits::kId}, {"page_token", request.page_token(), limits::kId}});
}

grpc::Status check_bounds(const exv1::CancelAgentExecutionInput& request) {
  return check_length("id", request.id(), limits::kId);
}

grpc::Status check_bounds(const exv1::TerminateAgentExecutionInput& request) {
  return check_length("id", request.id(), limits::kId);
}

grpc::Status check_bounds(const exv1::PauseAgentExecutionInput& request) {
  return check_length("id", request.id(), limits::kId);
}

grpc::Status check_bounds(const exv1::ResumeAgentExecutionInput& request) {
  return check_length("id", request.id(), limits::kId);
}

grpc::Status check_bounds(const aexd::v1::ClaimRequest& request) {
  if (auto s = check_length("runner_id", request.runner_id(), limits::kId); !s.ok()) return s;
  return check_each("agent_ids", request.agent_ids(), limits::kId);
}

grpc::Status check_bounds(const aexd::v1::ReleaseRequest& request) {
  return check_lengths(
      {{"execution_id", request.execution_id(), limits::kId}, {"lease_id", request.lease_id(), limits::kId}});
}

template <class T>
grpc::Status fill_constants(T& resource) {
  if (auto s = check_envelope(resource); !s.ok()) return s;
  resource.set_api_version(std::string(kApiVersion));
  resource.set_kind(std::string(KindOf<T>::name));
  return grpc::Status::OK;
}

template grpc::Status fill_constants(Agent&);
template grpc::Status fill_constants(AgentInstance&);
template grpc::Status fill_constants(Session&);
template grpc::Status fill_constants(Execution&);

}  // namespace aexd
