// Thin RAII over libpq: a Connection owns one PGconn and prepares each statement once. Failures
// throw postgres::Error carrying the SQLSTATE; store/postgres/operations.h turns them into a
// grpc::Status, so no exception leaves store/postgres. A Connection is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aexd::store::postgres {

struct Error : std::runtime_error {
  Error(std::string sqlstate, const std::string& what) : std::runtime_error(what), sqlstate(std::move(sqlstate)) {}
  std::string sqlstate;  // five characters; empty when the connection itself failed
};

inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kLockNotAvailable = "55P03";  // lock_timeout passed

class Connection;

/// One execution of a prepared statement: parameters bind in order ($1, $2, ...), then step() walks
/// the rows (or run() executes a statement that returns none). Results are binary: integers are
/// BIGINT columns, text and bytea columns are their bytes. Bound views must outlive the execution.
class Query {
 public:
  /// Prepares the statement on its first use by the connection.
  Query(Connection& db, std::string_view sql);
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(std::string_view text);
  Query& bind(int64_t value);
  Query& bind_blob(std::string_view bytes);
  Query& bind_null();
  /// A text[] parameter.
  Query& bind_array(const std::vector<std::string>& values);

  bool step();
  void run();

  int64_t integer(int column) const;
  bool is_null(int column) const { return PQgetisnull(result_.get(), row_, column); }
  std::string_view text(int column) const {
    return {PQgetvalue(result_.get(), row_, column), static_cast<size_t>(PQgetlength(result_.get(), row_, column))};
  }
  std::string_view blob(int column) const { return text(column); }
  /// Rows a run() changed.
  int64_t affected() const;

 private:
  void execute();

  Connection& db_;
  const std::string& statement_;  // the prepared statement's name
  std::deque<std::string> owned_;  // integers in network order, arrays in their binary form
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::unique_ptr<PGresult, decltype(&PQclear)> result_{nullptr, &PQclear};
  int row_ = -1;
};

class Connection {
 public:
  /// Connects (blocking) with a libpq connection string or URI.
  static std::unique_ptr<Connection> open(const std::string& conninfo);
  ~Connection();

  /// Runs one or more statements without parameters.
  void exec(const std::string& sql);
  Query query(std::string_view sql) { return Query(*this, sql); }
  PGconn* handle() { return conn_; }
  /// The server process of this connection (what NOTIFY reports as the sender).
  int backend_pid() const { return PQbackendPID(conn_); }
  bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

 private:
  friend class Query;
  explicit Connection(PGconn* conn) : conn_(conn) {}
  /// The prepared statement's name, preparing it on first use.
  const std::string& prepared(std::string_view sql);
  /// Throws Error for a failed result (and frees it).
  PGresult* checked(PGresult* result);

  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  PGconn* conn_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> statements_;  // SQL -> name
};

}  // namespace aexd::store::postgres
