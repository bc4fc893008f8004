// A throw-away PostgreSQL cluster for one test process (initdb + pg_ctl from PG_BINDIR, listening on
// 127.0.0.1 at a free port), and a fresh database from it per caller. Any thread; started on first
// use, stopped and deleted when the process exits, even when killed (a test's timeout). Needs
// -DPG_BINDIR (tests/meson.build sets it).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace aexd::test {

/// Runs `sql` on the database at libpq URI `uri`; the first value of its first row ("" if it returns
/// no rows). Fails the test with PostgreSQL's message if it cannot connect or the statement fails.
inline std::string postgres_query(const std::string& uri, const std::string& sql) {
  const std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(uri.c_str()), PQfinish);
  REQUIRE_MESSAGE(PQstatus(conn.get()) == CONNECTION_OK, uri << ": " << PQerrorMessage(conn.get()));
  const std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), PQclear);
  const auto status = PQresultStatus(result.get());
  REQUIRE_MESSAGE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK),
                  sql << ": " << PQresultErrorMessage(result.get()));
  return PQntuples(result.get()) > 0 ? PQgetvalue(result.get(), 0, 0) : "";
}

class PostgresCluster {
 public:
  static PostgresCluster& shared() {
    static PostgresCluster cluster;
    return cluster;
  }

  /// A new, empty database of its own (t1, t2, ...): its URI.
  std::string create_database() {
    const std::string name = "t" + std::to_string(++databases_);
    postgres_query(uri("postgres"), "CREATE DATABASE " + name);
    return uri(name);
  }
  std::string uri(const std::string& database) const {
    return "postgresql://aexd@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  ~PostgresCluster() {
    // At exit, outside any test: nothing here may fail the run. Then the watchdog is killed, the
    // lock released and the directory removed (members, in that order).
    std::string error;
    if (auto child = cli::ChildProcess::spawn(command("pg_ctl", "-D " + data() + " -m fast -w stop"), "", {}, error)) {
      cli::Output ignored;
      poll_child_until(*child, ignored, [](const cli::Output&) { return false; });
    }
  }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

 private:
  static constexpr int kNobody = 65534;  // nobody:nogroup on Debian

  PostgresCluster() {
    // initdb and postgres refuse to run as root, which CI is: then they run as nobody, who owns the directory.
    if (geteuid() == 0)
      REQUIRE_MESSAGE(chown(dir_.path().c_str(), kNobody, kNobody) == 0,
                      "chown " << dir_.path() << ": " << std::strerror(errno));
    // A process killed before its destructor runs leaves no server behind: the watchdog waits for
    // this process's lock, which the kernel releases however the process ends, then cleans up.
    const std::string lock = (dir_.path() / "lock").string();
    lock_.fd = open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    REQUIRE_MESSAGE((lock_.fd >= 0 && flock(lock_.fd, LOCK_EX) == 0), lock << ": " << std::strerror(errno));
    watchdog_ = spawn_child("exec >/dev/null 2>&1; flock " + shell_quoted(lock) + " true; (" +
                            command("pg_ctl", "-D " + data() + " -m immediate -w stop") + "); rm -rf " +
                            shell_quoted(dir_.path()));
    const Ran initdb = run("initdb", "-D " + data() + " -U aexd -A trust -E UTF8 --locale=C --no-sync");
    REQUIRE_MESSAGE(initdb.ok, "initdb failed:\n" << initdb.output);
    // The free port may be taken again before the server binds it: then another one.
    std::string failures;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      const std::string settings =
          "-p " + std::to_string(port_) +
          " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + shell_quoted(dir_.path()) +
          " -c fsync=off -c full_page_writes=off -c max_connections=300"
          " -c deadlock_timeout=50ms -c shared_buffers=64MB";
      const Ran start = run("pg_ctl", "-D " + data() + " -w -l " + shell_quoted(dir_.path() / "log") + " -o " +
                                          shell_quoted(settings) + " start");
      if (start.ok) return;
      failures += start.output;
    }
    std::ostringstream log;
    log << std::ifstream(dir_.path() / "log").rdbuf();
    FAIL("the PostgreSQL test cluster did not start:\n" << failures << "its log:\n" << log.str());
  }

  std::string data() const { return shell_quoted(dir_.path() / "data"); }

  /// The shell command running PostgreSQL's `program` with `args` (already quoted), as nobody when
  /// we are root, from the cluster's directory (nobody may not enter the test's working directory).
  std::string command(const std::string& program, const std::string& args) const {
    const std::string as_nobody = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "";
    return "cd " + shell_quoted(dir_.path()) + " && exec " + as_nobody + shell_quoted(PG_BINDIR "/" + program) + " " +
           args;
  }

  struct Ran {
    bool ok;             // exit status 0
    std::string output;  // stdout, then stderr
  };
  /// Runs `program` to its exit (bounded).
  Ran run(const std::string& program, const std::string& args) const {
    auto child = spawn_child(command(program, args));
    const cli::Output out = run_child_to_exit(*child, std::chrono::seconds(120));
    std::string text;
    for (const auto* lines : {&out.stdout_lines, &out.stderr_lines})
      for (const auto& line : *lines) text += line + "\n";
    return {child->exit_status()->success(), text};
  }

  /// A port nothing listens on now: bound to 127.0.0.1:0, read, and closed.
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE_MESSAGE(fd >= 0, "socket: " << std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), size) == 0 &&
                       getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0;
    const int error = errno;
    close(fd);
    REQUIRE_MESSAGE(bound, "no free port on 127.0.0.1: " << std::strerror(error));
    return ntohs(addr.sin_port);
  }

  struct Lock {
    int fd = -1;
    ~Lock() {
      if (fd >= 0) close(fd);
    }
  };

  TempDir dir_;
  Lock lock_;
  std::unique_ptr<cli::ChildProcess> watchdog_;
  int port_ = 0;
  std::atomic<int> databases_{0};
};

}  // namespace aexd::test
