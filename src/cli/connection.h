// Connection: aexctl's one channel to aexd (plaintext, or TLS with an optional client certificate)
// and the bearer token every call carries. Immutable once opened: any thread may use it.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace aexd::cli {

struct ConnectionOptions {
  std::string address = "127.0.0.1:7234";
  std::string token_file;  // empty: the token is AEXD_TOKEN's value, if set
  std::string tls_ca;      // empty: plaintext
  std::string tls_cert;    // client certificate (mTLS), with tls_key
  std::string tls_key;
};

/// "NOT_FOUND: no such agent" (the code's name, then the message if any).
std::string describe(const grpc::Status& status);

/// The token in `path`: its first line without surrounding whitespace; nullopt and `error` set if
/// the file cannot be read or that line is empty.
std::optional<std::string> read_token_file(const std::string& path, std::string& error);

class Connection {
 public:
  /// nullptr and `error` set if a file named in `options` cannot be read.
  static std::unique_ptr<Connection> open(const ConnectionOptions& options, std::string& error);

  /// An opened channel with a token sends it; `token` may be empty (no authorization header).
  Connection(std::shared_ptr<grpc::Channel> channel, std::string token)
      : channel_(std::move(channel)), token_(std::move(token)) {}

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  /// Adds `authorization: Bearer <token>` to `context` (nothing without a token). Call credentials
  /// would do this only over TLS; the header is sent in plaintext too, e.g. to a local aexd.
  void authorize(grpc::ClientContext& context) const;
  /// authorize(), plus a deadline `timeout` from now.
  void prepare(grpc::ClientContext& context, std::chrono::seconds timeout = std::chrono::seconds(30)) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
};

}  // namespace aexd::cli
