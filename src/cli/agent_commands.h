// `aexctl agent apply|get|delete`, and how a command finds an agent by name or id (also used by
// `exec create --agent`). Main's thread.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "ai/stigmer/agentic/agent/v1/agent.pb.h"
#include "cli/command.h"

namespace aexd::cli {

namespace agentv1 = ai::stigmer::agentic::agent::v1;

/// An agent as typed on the command line: an id (`agt-…`), or a name or slug looked up in a scope
/// (`--scope`; default organization when `--org` is given, else platform).
struct AgentRef {
  std::string name_or_id;
  std::string org;
  std::string scope;  // platform, organization, identity_account, or empty for the default
};

/// The slug aexd derives from a name (API.md "Slug"): lower case, spaces to hyphens, only
/// `a-z 0-9 -`, no repeated, leading or trailing hyphens. A slug maps to itself.
std::string slug_of(std::string_view name);

/// The agent `ref` names: `get` for an id, `getByReference` otherwise. INVALID_ARGUMENT for an
/// unknown scope.
grpc::Status resolve_agent(const Context& context, const AgentRef& ref, agentv1::Agent& out);

}  // namespace aexd::cli
