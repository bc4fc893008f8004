// Connection: aexctl's one channel to aexd (plaintext, or TLS with an optional client certificate)
// that carries the bearer token on every call (auth/client_channel.h). Immutable once opened: any
// thread may use it.
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

  explicit Connection(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  /// Sets a deadline `timeout` from now on `context` (the channel itself adds the token).
  void prepare(grpc::ClientContext& context, std::chrono::seconds timeout = std::chrono::seconds(30)) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace aexd::cli
