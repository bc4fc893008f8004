// What every aexctl command shares: the run-time context (connection, output format, whether
// stdout is a terminal), error reporting with the documented exit codes, and the registration
// type main() wires CLI11 with. Commands run on main's thread.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "cli/connection.h"
#include "cli/phase.h"

namespace aexd::cli {

enum class Format { kText, kJson };

class Context {
 public:
  Context(std::shared_ptr<const Connection> connection, Format format, bool terminal, std::ostream& out,
          std::ostream& err)
      : connection_(std::move(connection)), format_(format), terminal_(terminal), out_(out), err_(err) {}

  const Connection& connection() const { return *connection_; }
  const std::shared_ptr<const Connection>& shared_connection() const { return connection_; }
  Format format() const { return format_; }
  bool json() const { return format_ == Format::kJson; }
  /// stdout is a terminal: progress and colours.
  bool terminal() const { return terminal_; }
  std::ostream& out() const { return out_; }

  /// `aexctl: CODE: message` on stderr; returns exit_code::kCallFailed.
  int call_failed(const grpc::Status& status) const;
  /// `aexctl: what` on stderr; returns exit_code::kUsage.
  int usage_error(const std::string& what) const;
  /// `message` in protobuf's JSON mapping, indented (`one_line`: on one line), then '\n'.
  void print_json(const google::protobuf::Message& message, bool one_line = false) const;

 private:
  std::shared_ptr<const Connection> connection_;
  Format format_;
  bool terminal_;
  std::ostream& out_;
  std::ostream& err_;
};

/// The command a parse selected. Commands that talk to no server (`token new`) need no connection.
struct Selected {
  std::function<int(const Context&)> run;
  bool needs_connection = true;
};

/// Each group adds its subcommands to `app`; the one parsed sets `selected`. Both outlive the parse.
void add_agent_commands(CLI::App& app, Selected& selected);
void add_exec_commands(CLI::App& app, Selected& selected);
void add_token_commands(CLI::App& app, Selected& selected);
/// `--server` of `aexctl runner` writes `address`, as the global `--addr` does.
void add_runner_command(CLI::App& app, Selected& selected, std::string& address);

/// A Timestamp (or RFC 3339 string) as `2024-05-01 12:00:00` UTC; "" when unset.
std::string format_time(const google::protobuf::Timestamp& time);
/// The first line of `text`, cut to `width` characters with "..." if longer (0: no cut).
std::string first_line(const std::string& text, size_t width = 0);

}  // namespace aexd::cli
