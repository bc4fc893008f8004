// The server's transport security from the --tls-* files: plaintext, TLS, or TLS requiring verified
// client certificates (mTLS). Start-up only, from one thread.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>
#include <string_view>

#include "domain/result.h"

namespace aexd::auth {

struct TlsFiles {
  std::string cert;       // PEM certificate chain; empty: plaintext
  std::string key;        // PEM private key of the first certificate
  std::string client_ca;  // PEM CA certificates; non-empty: clients must present a certificate they signed
};

/// Credentials to listen with. Unreadable or unparsable files, a key that does not match the
/// certificate, or a client CA without a certificate are errors naming the file.
Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const TlsFiles& files);

/// Whether `listen` (host:port, [v6]:port or unix:path) is reachable from this machine only.
bool is_local_address(std::string_view listen);

}  // namespace aexd::auth
