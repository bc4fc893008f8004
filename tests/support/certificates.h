// Certificates made for one test with libcrypto: a CA, and server and client certificates it
// signs (P-256 keys, valid from an hour ago for a day). Used from the test thread only.
#pragma once

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>  // EVP_EC_gen uses strstr
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace aexd::test {

/// A certificate and its private key, in PEM.
struct CertifiedKey {
  std::string cert;
  std::string key;
};

class TestCa {
 public:
  explicit TestCa(const std::string& name = "aexd test CA") : key_(new_key()), cert_(X509_new()) {
    start(cert_.get(), name, key_.get());
    X509_set_issuer_name(cert_.get(), X509_get_subject_name(cert_.get()));
    extend(cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    extend(cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    REQUIRE(X509_sign(cert_.get(), key_.get(), EVP_sha256()) > 0);
  }

  std::string pem() const { return pem_of(cert_.get()); }
  /// For the server: names 127.0.0.1 and localhost, so clients can verify the address they dial.
  CertifiedKey server(const std::string& common_name = "aexd") const {
    return issue(common_name, "IP:127.0.0.1,DNS:localhost", "serverAuth");
  }
  /// For a client of an mTLS server; the server sees `common_name` as its subject's CN.
  CertifiedKey client(const std::string& common_name) const { return issue(common_name, "", "clientAuth"); }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
  };
  using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
  using Cert = std::unique_ptr<X509, X509Free>;

  static Key new_key() {
    Key key(EVP_EC_gen("P-256"));
    REQUIRE(key);
    return key;
  }
  void start(X509* cert, const std::string& common_name, EVP_PKEY* key) const {
    X509_set_version(cert, 2);  // v3, for extensions
    ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    REQUIRE(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0));
  }
  void extend(X509* cert, int nid, const char* value) const {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert_.get(), cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(extension);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  CertifiedKey issue(const std::string& common_name, const std::string& alt_names, const std::string& usage) const {
    Key key = new_key();
    Cert cert(X509_new());
    start(cert.get(), common_name, key.get());
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get()));
    extend(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    extend(cert.get(), NID_ext_key_usage, usage.c_str());
    if (!alt_names.empty()) extend(cert.get(), NID_subject_alt_name, alt_names.c_str());
    REQUIRE(X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0);
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr));
    return {pem_of(cert.get()), text_of(bio.get())};
  }
  static std::string pem_of(X509* cert) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(bio.get(), cert));
    return text_of(bio.get());
  }
  static std::string text_of(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(size));
  }

  Key key_;
  Cert cert_;
  mutable long serial_ = 0;
};

/// Writes `text` to `path` (replacing it) and returns the path.
inline std::string write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
  return path.string();
}

}  // namespace aexd::test
