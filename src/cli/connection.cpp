#include "cli/connection.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "auth/client_channel.h"

namespace aexd::cli {

namespace {

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string trimmed(std::string s) {
  const char* const space = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

}  // namespace

std::string describe(const grpc::Status& status) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  const auto code = static_cast<size_t>(status.error_code());
  std::string out = code < std::size(kNames) ? kNames[code] : std::to_string(code);
  if (!status.error_message().empty()) out += ": " + status.error_message();
  return out;
}

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  const auto text = read_file(path, error);
  if (!text) return std::nullopt;
  std::string token = trimmed(text->substr(0, text->find('\n')));
  if (token.empty()) {
    error = path + ": its first line holds no token";
    return std::nullopt;
  }
  return token;
}

std::unique_ptr<Connection> Connection::open(const ConnectionOptions& options, std::string& error) {
  std::string token;
  if (!options.token_file.empty()) {
    auto read = read_token_file(options.token_file, error);
    if (!read) return nullptr;
    token = std::move(*read);
  } else if (const char* env = std::getenv("AEXD_TOKEN")) {
    token = trimmed(env);
  }

  if (options.tls_cert.empty() != options.tls_key.empty()) {
    error = "--tls-cert and --tls-key go together";
    return nullptr;
  }
  auth::ClientSecurity security;  // TLS if any file is named; without --tls-ca, gRPC's default roots
  security.token = std::move(token);
  for (auto [path, into] :
       {std::pair{&options.tls_ca, &security.ca_pem}, std::pair{&options.tls_cert, &security.cert_pem},
        std::pair{&options.tls_key, &security.key_pem}}) {
    if (path->empty()) continue;
    auto pem = read_file(*path, error);
    if (!pem) return nullptr;
    *into = std::move(*pem);
  }

  grpc::ChannelArguments args;
  // Executions grow past gRPC's 4 MiB default as messages pile up (aexd replies up to what it accepts).
  args.SetMaxReceiveMessageSize(-1);
  // gRPC's own reconnect backoff (up to 120 s by default) would outlast a runner's after a server
  // restart. The minimum stays gRPC's: it is also each connection attempt's timeout, and a busy
  // machine can take longer than a short one to connect.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return std::make_unique<Connection>(auth::open_channel(options.address, security, args));
}

void Connection::prepare(grpc::ClientContext& context, std::chrono::seconds timeout) const {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

}  // namespace aexd::cli
