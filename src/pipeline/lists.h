// The list requests of the wire contract: their validation (page size, page token, filters) and the
// shape of their answers. Run on a store::Reader.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/result.h"
#include "domain/types.h"
#include "store/storage.h"

namespace aexd::pipeline {

namespace sessionv1 = ai::stigmer::agentic::session::v1;
namespace instancev1 = ai::stigmer::agentic::agentinstance::v1;

/// The response header that carries the next page token (the wire messages have no field for it).
inline constexpr std::string_view kNextPageTokenHeader = "x-next-page-token";
inline constexpr int32_t kMaxPageSize = 1000;
inline constexpr int kMaxTags = 32;

/// 0 and anything above 1000 mean 1000 (Stigmer's clients do not page: 0 must list everything it
/// can); negative is INVALID_ARGUMENT naming `page_size`.
Result<int32_t> page_size(int32_t requested);
/// A page token is empty or the id of a listed entry ("<prefix>-<ulid>"); else INVALID_ARGUMENT
/// naming `page_token`.
grpc::Status check_page_token(std::string_view token, std::string_view prefix);

/// Each fills `out` with one page and `next_page_token` with the token of the next one (empty on the
/// last page).
grpc::Status list(store::Reader& db, const exv1::ListAgentExecutionsRequest& request, exv1::AgentExecutionList& out,
                  std::string& next_page_token);
grpc::Status list(store::Reader& db, const exv1::ListAgentExecutionsBySessionRequest& request,
                  exv1::AgentExecutionList& out, std::string& next_page_token);
grpc::Status list(store::Reader& db, const sessionv1::ListSessionsRequest& request, sessionv1::SessionList& out,
                  std::string& next_page_token);
grpc::Status list(store::Reader& db, const sessionv1::ListSessionsByAgentRequest& request, sessionv1::SessionList& out,
                  std::string& next_page_token);
/// Every instance of the agent, newest first (an unknown agent has none).
grpc::Status list(store::Reader& db, const instancev1::GetAgentInstancesByAgentRequest& request,
                  instancev1::AgentInstanceList& out);

}  // namespace aexd::pipeline
