#include "store/postgres/connection.h"

#include <arpa/inet.h>
#include <endian.h>

#include <cstring>

namespace aexd::store::postgres {
namespace {

constexpr unsigned kTextOid = 25;

std::string message_of(PGconn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

void append_int32(std::string& out, uint32_t value) {
  value = htonl(value);
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

}  // namespace

std::unique_ptr<Connection> Connection::open(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = message_of(conn);
    PQfinish(conn);
    throw Error("", message);
  }
  auto db = std::unique_ptr<Connection>(new Connection(conn));
  // Notices (e.g. "relation already exists, skipping") are not errors; aexd logs what matters itself.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return db;
}

Connection::~Connection() { PQfinish(conn_); }

PGresult* Connection::checked(PGresult* result) {
  const auto status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = field ? field : "";  // copied: it lives in the result freed below
  std::string message = result ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = message_of(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  PQclear(result);
  throw Error(std::move(state), message);
}

void Connection::exec(const std::string& sql) { PQclear(checked(PQexec(conn_, sql.c_str()))); }

const std::string& Connection::prepared(std::string_view sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
  std::string name = std::to_string(statements_.size());
  name.insert(name.begin(), 's');  // not "s" + ...: GCC 12 -O3 warns falsely (-Wrestrict) on that
  PQclear(checked(PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr)));
  return statements_.emplace(std::string(sql), std::move(name)).first->second;
}

Query::Query(Connection& db, std::string_view sql) : db_(db), statement_(db.prepared(sql)) {}

Query& Query::bind(std::string_view text) {
  values_.push_back(text.data() ? text.data() : "");
  lengths_.push_back(static_cast<int>(text.size()));
  formats_.push_back(1);  // binary text is its bytes: no terminating NUL needed
  return *this;
}

Query& Query::bind(int64_t value) {
  const uint64_t be = htobe64(static_cast<uint64_t>(value));
  auto& bytes = owned_.emplace_back(reinterpret_cast<const char*>(&be), sizeof be);
  values_.push_back(bytes.data());
  lengths_.push_back(sizeof be);
  formats_.push_back(1);
  return *this;
}

Query& Query::bind_blob(std::string_view bytes) { return bind(bytes); }

Query& Query::bind_null() {
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(1);
  return *this;
}

Query& Query::bind_array(const std::vector<std::string>& values) {
  // The binary array format: dimensions, no-nulls flag, element type, then (length, bytes) each.
  auto& bytes = owned_.emplace_back();
  append_int32(bytes, 1);
  append_int32(bytes, 0);
  append_int32(bytes, kTextOid);
  append_int32(bytes, static_cast<uint32_t>(values.size()));
  append_int32(bytes, 1);
  for (const auto& value : values) {
    append_int32(bytes, static_cast<uint32_t>(value.size()));
    bytes += value;
  }
  values_.push_back(bytes.data());
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

void Query::execute() {
  result_.reset(db_.checked(PQexecPrepared(db_.conn_, statement_.c_str(), static_cast<int>(values_.size()), values_.data(),
                                           lengths_.data(), formats_.data(), 1)));
}

bool Query::step() {
  if (!result_) execute();
  return ++row_ < PQntuples(result_.get());
}

void Query::run() { execute(); }

int64_t Query::integer(int column) const {
  const char* value = PQgetvalue(result_.get(), row_, column);
  switch (PQgetlength(result_.get(), row_, column)) {
    case 8: {
      uint64_t be;
      std::memcpy(&be, value, sizeof be);
      return static_cast<int64_t>(be64toh(be));
    }
    case 4: {
      uint32_t be;
      std::memcpy(&be, value, sizeof be);
      return static_cast<int32_t>(ntohl(be));
    }
    default:
      return 0;  // NULL
  }
}

int64_t Query::affected() const { return std::strtoll(PQcmdTuples(result_.get()), nullptr, 10); }

}  // namespace aexd::store::postgres
