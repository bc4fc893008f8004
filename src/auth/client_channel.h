// How a client of aexd (the load tools, the tests, aexctl) reaches it when auth or TLS is on: a
// channel that sends `authorization: Bearer <token>` on every call and speaks TLS when given a CA or
// a client certificate. Header-only, linking gRPC alone; channels are thread-safe as gRPC's are.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aexd::auth {

struct ClientSecurity {
  std::string token;     // sent as a bearer token when non-empty
  std::string ca_pem;    // the CA the server's certificate must chain to; empty: gRPC's default roots
  std::string cert_pem;  // a client certificate and its key, for a server that asks for one (mTLS)
  std::string key_pem;

  /// TLS when any of the PEMs is given; otherwise plaintext.
  bool tls() const { return !ca_pem.empty() || !cert_pem.empty() || !key_pem.empty(); }
};

/// Adds the bearer token to each call's initial metadata. A call credential would do the same but
/// gRPC sends those over TLS only; the token may also go in plaintext to a loopback server.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string& header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    methods->Proceed();
  }

 private:
  const std::string& header_;  // owned by the factory, which the channel keeps
};

class BearerTokenFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(const std::string& token) : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

inline std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const ClientSecurity& security) {
  if (!security.tls()) return grpc::InsecureChannelCredentials();
  return grpc::SslCredentials({security.ca_pem, security.key_pem, security.cert_pem});
}

/// A channel to `target` with `security` and `args`.
inline std::shared_ptr<grpc::Channel> open_channel(const std::string& target, const ClientSecurity& security,
                                                   const grpc::ChannelArguments& args = {}) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!security.token.empty()) interceptors.push_back(std::make_unique<BearerTokenFactory>(security.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, channel_credentials(security), args,
                                                                 std::move(interceptors));
}

}  // namespace aexd::auth
