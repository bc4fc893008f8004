#include "pipeline/lists.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "domain/errors.h"

namespace aexd::pipeline {
namespace {

using Tags = google::protobuf::RepeatedPtrField<std::string>;

template <class Filter>
Result<store::ListQuery<Filter>> paging(int32_t requested_size, const std::string& token, std::string_view prefix,
                                        Filter filter) {
  auto size = page_size(requested_size);
  if (!size.ok()) return size.status();
  if (auto s = check_page_token(token, prefix); !s.ok()) return s;
  return store::ListQuery<Filter>{std::move(filter), *size, token};
}

Result<std::vector<std::string>> tags_of(const Tags& tags) {
  if (tags.size() > kMaxTags) return errors::invalid("tags", "at most " + std::to_string(kMaxTags) + " tags");
  return std::vector<std::string>(tags.begin(), tags.end());
}

template <class Filter, class List>
grpc::Status answer(store::Reader& db, Result<store::ListQuery<Filter>> query, List& out, std::string& next) {
  if (!query.ok()) return query.status();
  const int64_t size = query->page_size;
  store::ListPage<std::decay_t<decltype(out.entries(0))>> page;
  if (auto s = db.list(*query, page); !s.ok()) return s;
  const int64_t pages = (page.total + size - 1) / size;
  out.set_total_pages(static_cast<int32_t>(std::min<int64_t>(pages, std::numeric_limits<int32_t>::max())));
  for (auto& row : page.rows) *out.add_entries() = std::move(row);
  next = std::move(page.next_cursor);
  return grpc::Status::OK;
}

}  // namespace

Result<int32_t> page_size(int32_t requested) {
  if (requested < 0) return errors::invalid("page_size", "must not be negative");
  if (requested == 0) return kMaxPageSize;
  return std::min(requested, kMaxPageSize);
}

grpc::Status check_page_token(std::string_view token, std::string_view prefix) {
  if (token.empty() || is_id(token, prefix)) return grpc::Status::OK;
  return errors::invalid("page_token",
                         "is not a token this list returned (expected an id \"" + std::string(prefix) + "-<ulid>\")");
}

grpc::Status list(store::Reader& db, const exv1::ListAgentExecutionsRequest& request, exv1::AgentExecutionList& out,
                  std::string& next_page_token) {
  store::ExecutionFilter filter;
  if (!exv1::ExecutionPhase_IsValid(request.phase()))
    return errors::invalid("phase", "undefined value " + std::to_string(request.phase()));
  if (request.phase() != exv1::EXECUTION_PHASE_UNSPECIFIED) filter.phase = request.phase();
  auto tags = tags_of(request.tags());
  if (!tags.ok()) return tags.status();
  filter.tags = std::move(*tags);
  return answer(db, paging(request.page_size(), request.page_token(), kExecutionPrefix, std::move(filter)), out,
                next_page_token);
}

grpc::Status list(store::Reader& db, const exv1::ListAgentExecutionsBySessionRequest& request,
                  exv1::AgentExecutionList& out, std::string& next_page_token) {
  if (request.session_id().empty()) return errors::invalid("session_id", "is required");
  store::ExecutionFilter filter;
  filter.session_id = request.session_id();
  return answer(db, paging(request.page_size(), request.page_token(), kExecutionPrefix, std::move(filter)), out,
                next_page_token);
}

grpc::Status list(store::Reader& db, const sessionv1::ListSessionsRequest& request, sessionv1::SessionList& out,
                  std::string& next_page_token) {
  auto tags = tags_of(request.tags());
  if (!tags.ok()) return tags.status();
  store::SessionFilter filter;
  filter.tags = std::move(*tags);
  return answer(db, paging(request.page_size(), request.page_token(), kSessionPrefix, std::move(filter)), out,
                next_page_token);
}

grpc::Status list(store::Reader& db, const sessionv1::ListSessionsByAgentRequest& request, sessionv1::SessionList& out,
                  std::string& next_page_token) {
  if (request.agent_id().empty()) return errors::invalid("agent_id", "is required");
  store::SessionFilter filter;
  filter.agent_id = request.agent_id();
  return answer(db, paging(request.page_size(), request.page_token(), kSessionPrefix, std::move(filter)), out,
                next_page_token);
}

grpc::Status list(store::Reader& db, const instancev1::GetAgentInstancesByAgentRequest& request,
                  instancev1::AgentInstanceList& out) {
  if (request.agent_id().empty()) return errors::invalid("agent_id", "is required");
  std::vector<AgentInstance> instances;
  if (auto s = db.instances_of_agent(request.agent_id(), instances); !s.ok()) return s;
  out.set_total_count(static_cast<int32_t>(instances.size()));
  for (auto& instance : instances) *out.add_items() = std::move(instance);
  return grpc::Status::OK;
}

}  // namespace aexd::pipeline
