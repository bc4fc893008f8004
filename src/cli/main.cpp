// aexctl: a command-line client of aexd. Wires the command groups (src/cli/*_commands.cpp) into
// CLI11, opens the connection the selected command needs and runs it on this thread.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "aexd_config.h"
#include "cli/command.h"
#include "runtime/process_tuning.h"

int main(int argc, char** argv) {
  using namespace aexd::cli;
  aexd::tune_process();
  // A failed call is reported once, as `aexctl: CODE: message`; gRPC's own log lines (a TLS
  // handshake error, say) only when asked for with GRPC_VERBOSITY.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  CLI::App app{"aexctl - command-line client of aexd", "aexctl"};
  app.set_version_flag("--version", std::string("aexctl ") + AEXD_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags also after the command: `aexctl exec get ID -o json`
  app.footer(
      "Exit status: 0 success; 1 a call failed (stderr: `aexctl: CODE: message`, CODE a gRPC status such as "
      "NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, UNAVAILABLE, UNAUTHENTICATED); 2 bad usage or input; "
      "exec watch (and exec create --watch): 3 FAILED, 4 CANCELLED, 5 TERMINATED, 130 interrupted.");

  ConnectionOptions connection;
  std::string output = "text";
  app.add_option("--addr", connection.address, "aexd address")->capture_default_str();
  app.add_option("--token-file", connection.token_file,
                 "send `authorization: Bearer TOKEN` with every call, TOKEN the file's first line (without it: the "
                 "value of AEXD_TOKEN, if set)");
  app.add_option("--tls-ca", connection.tls_ca, "TLS, verifying the server with these root certificates (PEM)");
  app.add_option("--tls-cert", connection.tls_cert, "TLS client certificate (PEM), with --tls-key");
  app.add_option("--tls-key", connection.tls_key, "TLS client key (PEM), with --tls-cert");
  app.add_option("-o,--output", output, "text, or json (protobuf's JSON mapping)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  Selected selected;
  add_agent_commands(app, selected);
  add_exec_commands(app, selected);
  add_token_commands(app, selected);
  add_runner_command(app, selected, connection.address);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : exit_code::kUsage;
  }

  std::shared_ptr<const Connection> channel;
  if (selected.needs_connection) {
    std::string error;
    channel = Connection::open(connection, error);
    if (!channel) {
      std::cerr << "aexctl: " << error << std::endl;
      return exit_code::kUsage;
    }
  }
  const Context context(channel, output == "json" ? Format::kJson : Format::kText, isatty(STDOUT_FILENO) == 1,
                        std::cout, std::cerr);
  return selected.run(context);
}
