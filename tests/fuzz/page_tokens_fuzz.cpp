// Fuzz target: list requests with arbitrary page sizes, tokens and filters (pipeline/lists.h) over a
// small SQLite database (store/sqlite), checked against a model of its rows: the page is exactly the
// matching rows older than the token, newest first, with the right total and next token.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "checks.h"
#include "domain/audit.h"
#include "pipeline/lists.h"
#include "store/sqlite/operations.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/schema.h"

namespace {

using namespace aexd;
using aexd::fuzz::ok_or_names_field;

constexpr Phase kAnyPhase = exv1::EXECUTION_PHASE_UNSPECIFIED;

// One listed row as the model sees it.
struct Row {
  std::string id;
  std::string parent;  // an execution's session, a session's agent
  Phase phase = kAnyPhase;
  std::set<std::string> tags;
};

const std::string kTags[] = {"alpha", "beta", "gamma"};

// Valid ids with gaps between them, so that tokens also fall between rows: "<prefix>-01jd000…<n>".
std::string id_of(std::string_view prefix, int n) {
  constexpr char kBase32[] = "0123456789abcdefghjkmnpqrstvwxyz";
  return std::string(prefix) + "-01jd" + std::string(20, '0') + kBase32[n / 32] + kBase32[n % 32];
}

std::set<std::string> tags_of(int n) {
  std::set<std::string> tags;
  for (int bit = 0; bit < 3; ++bit)
    if (n & (1 << bit)) tags.insert(kTags[bit]);
  return tags;
}

// The database, written once per process, and the model of what it holds, newest first.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<store::sqlite::Connection> db;
  std::unique_ptr<store::sqlite::Operations> reader;
  std::vector<Row> executions, sessions;

  Fixture() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aexd-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    db = store::sqlite::Connection::open((dir / "aexd.db").string(), store::sqlite::Sync::off);
    store::sqlite::migrate(*db);
    reader = std::make_unique<store::sqlite::Operations>(*db, nullptr);
    const std::string agents[] = {id_of(kAgentPrefix, 1), id_of(kAgentPrefix, 2)};
    for (int i = 0; i < 2; ++i) {
      AgentInstance instance;
      instance.mutable_metadata()->set_id(id_of(kInstancePrefix, i + 1));
      instance.mutable_metadata()->set_slug("instance-" + std::to_string(i));
      instance.mutable_spec()->set_agent_id(agents[i]);
      store::sqlite::insert(*db, instance);
    }
    for (int i = 0; i < 12; ++i) {
      Session session;
      auto& m = *session.mutable_metadata();
      m.set_id(id_of(kSessionPrefix, 3 * i + 2));
      for (const auto& tag : tags_of(i)) m.add_tags(tag);
      session.mutable_spec()->set_agent_instance_id(id_of(kInstancePrefix, i % 2 + 1));
      store::sqlite::insert(*db, session);
      sessions.push_back({m.id(), agents[i % 2], kAnyPhase, tags_of(i)});
    }
    for (int i = 0; i < 40; ++i) {
      Execution execution;
      auto& m = *execution.mutable_metadata();
      m.set_id(id_of(kExecutionPrefix, 3 * i + 2));
      for (const auto& tag : tags_of(i / 2)) m.add_tags(tag);
      set_revision(m, 1);
      execution.mutable_spec()->set_session_id(sessions[i % 3].id);
      execution.mutable_spec()->set_message("hello");
      execution.mutable_status()->set_phase(static_cast<Phase>(1 + i % 8));
      store::sqlite::insert(*db, execution);
      executions.push_back({m.id(), sessions[i % 3].id, execution.status().phase(), tags_of(i / 2)});
    }
    std::reverse(sessions.begin(), sessions.end());
    std::reverse(executions.begin(), executions.end());
  }
  ~Fixture() {
    reader.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

struct Query {
  int32_t page_size;
  std::string token;
  std::string parent;
  Phase phase;
  std::vector<std::string> tags;
};

// The page the contract promises for `query` over `rows`, checked against what the list answered.
template <class List>
void check_page(const std::vector<Row>& rows, const Query& query, const List& out, const std::string& next) {
  const int64_t size =
      query.page_size == 0 ? pipeline::kMaxPageSize : std::min(query.page_size, pipeline::kMaxPageSize);
  std::vector<std::string> matching, page;
  for (const auto& row : rows) {
    if (!query.parent.empty() && row.parent != query.parent) continue;
    if (query.phase != kAnyPhase && row.phase != query.phase) continue;
    if (!std::all_of(query.tags.begin(), query.tags.end(), [&](const auto& t) { return row.tags.count(t) == 1; }))
      continue;
    matching.push_back(row.id);
    if (query.token.empty() || row.id < query.token) page.push_back(row.id);
  }
  const bool more = static_cast<int64_t>(page.size()) > size;
  if (more) page.resize(size);
  FUZZ_CHECK(out.total_pages() == static_cast<int32_t>((static_cast<int64_t>(matching.size()) + size - 1) / size));
  FUZZ_CHECK(out.entries_size() == static_cast<int>(page.size()));
  for (int i = 0; i < out.entries_size(); ++i) FUZZ_CHECK(out.entries(i).metadata().id() == page[i]);
  FUZZ_CHECK(next == (more ? page.back() : std::string()));
}

bool valid_paging(const Query& query, std::string_view prefix) {
  return query.page_size >= 0 && (query.token.empty() || is_id(query.token, prefix));
}

// Decodes a list request and lists it. Its errors may name only `fields`; it is accepted exactly when
// its paging is valid and `filters_valid`; an accepted one answers the page the model gives `query_of`.
template <class Request, class List, class QueryOf, class FiltersValid>
void check_list(std::string_view bytes, const std::vector<Row>& rows, std::string_view prefix,
                std::initializer_list<std::string_view> fields, QueryOf query_of, FiltersValid filters_valid) {
  Request request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  List out;
  std::string next;
  const auto status = pipeline::list(*fixture().reader, request, out, next);
  FUZZ_CHECK(ok_or_names_field(status, fields));
  const Query query = query_of(request);
  FUZZ_CHECK(status.ok() == (valid_paging(query, prefix) && filters_valid(request)));
  if (status.ok()) check_page(rows, query, out, next);
}

void list_executions(std::string_view bytes) {
  check_list<exv1::ListAgentExecutionsRequest, exv1::AgentExecutionList>(
      bytes, fixture().executions, kExecutionPrefix, {"page_size", "page_token", "phase", "tags"},
      [](const auto& r) {
        return Query{r.page_size(), r.page_token(), "", r.phase(), {r.tags().begin(), r.tags().end()}};
      },
      [](const auto& r) { return exv1::ExecutionPhase_IsValid(r.phase()) && r.tags_size() <= pipeline::kMaxTags; });
}

void list_executions_by_session(std::string_view bytes) {
  check_list<exv1::ListAgentExecutionsBySessionRequest, exv1::AgentExecutionList>(
      bytes, fixture().executions, kExecutionPrefix, {"session_id", "page_size", "page_token"},
      [](const auto& r) {
        return Query{r.page_size(), r.page_token(), r.session_id(), kAnyPhase, {}};
      },
      [](const auto& r) { return !r.session_id().empty(); });
}

void list_sessions(std::string_view bytes) {
  check_list<pipeline::sessionv1::ListSessionsRequest, pipeline::sessionv1::SessionList>(
      bytes, fixture().sessions, kSessionPrefix, {"page_size", "page_token", "tags"},
      [](const auto& r) {
        return Query{r.page_size(), r.page_token(), "", kAnyPhase, {r.tags().begin(), r.tags().end()}};
      },
      [](const auto& r) { return r.tags_size() <= pipeline::kMaxTags; });
}

void list_sessions_by_agent(std::string_view bytes) {
  check_list<pipeline::sessionv1::ListSessionsByAgentRequest, pipeline::sessionv1::SessionList>(
      bytes, fixture().sessions, kSessionPrefix, {"agent_id", "page_size", "page_token"},
      [](const auto& r) {
        return Query{r.page_size(), r.page_token(), r.agent_id(), kAnyPhase, {}};
      },
      [](const auto& r) { return !r.agent_id().empty(); });
}

void (*const kLists[])(std::string_view) = {list_executions, list_executions_by_session, list_sessions,
                                            list_sessions_by_agent};

}  // namespace

// Input: one byte picks the list, the rest is its request.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz::run_picked(data, size, kLists); }
