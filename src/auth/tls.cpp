#include "auth/tls.h"

#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aexd::auth {
namespace {

grpc::Status bad(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }

Result<std::string> read_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(std::string(flag) + " " + path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

Bio memory_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

/// The first certificate of `pem`, or null.
Certificate first_certificate(const std::string& pem) {
  auto bio = memory_bio(pem);
  return Certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const TlsFiles& files) {
  if (files.cert.empty() && files.key.empty()) {
    if (!files.client_ca.empty()) return bad("--tls-client-ca needs --tls-cert and --tls-key");
    return grpc::InsecureServerCredentials();
  }
  if (files.cert.empty() || files.key.empty()) return bad("--tls-cert and --tls-key go together");
  auto cert = read_file(files.cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = read_file(files.key, "--tls-key");
  if (!key.ok()) return key.status();
  // gRPC would only log these at the first handshake; checked here they stop the start.
  const auto leaf = first_certificate(*cert);
  if (!leaf) return bad("--tls-cert " + files.cert + ": no PEM certificate in it");
  auto key_bio = memory_bio(*key);
  std::unique_ptr<EVP_PKEY, KeyFree> private_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!private_key) return bad("--tls-key " + files.key + ": no PEM private key in it (or it is encrypted)");
  if (X509_check_private_key(leaf.get(), private_key.get()) != 1)
    return bad("--tls-key " + files.key + " is not the key of the certificate in " + files.cert);

  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!files.client_ca.empty()) {
    auto ca = read_file(files.client_ca, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    if (!first_certificate(*ca)) return bad("--tls-client-ca " + files.client_ca + ": no PEM certificate in it");
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

bool is_local_address(std::string_view listen) {
  if (listen.starts_with("unix:") || listen.starts_with("unix-abstract:")) return true;
  auto host = listen.substr(0, listen.rfind(':'));
  if (host.starts_with("ipv4:") || host.starts_with("ipv6:")) host.remove_prefix(5);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

}  // namespace aexd::auth
