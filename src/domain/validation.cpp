#include "domain/validation.h"

#include <string>

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
  for (const auto& [key, todo] : status.todos())
    if (!exv1::TodoStatus_IsValid(todo.status()))
      return undefined("status.todos[\"" + key + "\"].status", todo.status());
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
  for (const auto& [key, value] : execution.spec().runtime_env())
    if (value.value().empty()) return errors::invalid("spec.runtime_env[\"" + key + "\"].value", "must not be empty");
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
