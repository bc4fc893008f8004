// The server's credentials from the --tls-* files: what makes a clear start-up error, and which
// listen addresses count as local (no warning when auth is off).
#include "auth/tls.h"

#include <doctest/doctest.h>

#include "support/certificates.h"
#include "support/temp_dir.h"

using namespace aexd;
using namespace aexd::auth;

namespace {

std::string error_of(const TlsFiles& files) {
  auto credentials = server_credentials(files);
  return credentials.ok() ? "" : credentials.status().error_message();
}

}  // namespace

TEST_CASE("tls: no files is plaintext; a certificate with its key is TLS; with a client CA, mTLS") {
  test::TempDir dir;
  test::TestCa ca;
  const auto server = ca.server();
  const auto cert = test::write_file(dir.path() / "cert.pem", server.cert);
  const auto key = test::write_file(dir.path() / "key.pem", server.key);
  const auto client_ca = test::write_file(dir.path() / "ca.pem", ca.pem());
  CHECK(error_of({}) == "");
  CHECK(error_of({cert, key, ""}) == "");
  CHECK(error_of({cert, key, client_ca}) == "");
}

TEST_CASE("tls: bad files are start-up errors naming the file") {
  test::TempDir dir;
  test::TestCa ca;
  const auto server = ca.server(), other = ca.server("other");
  const auto cert = test::write_file(dir.path() / "cert.pem", server.cert);
  const auto key = test::write_file(dir.path() / "key.pem", server.key);
  const auto other_key = test::write_file(dir.path() / "other-key.pem", other.key);
  const auto garbage = test::write_file(dir.path() / "garbage.pem", "not a PEM file\n");
  const auto missing = (dir.path() / "missing.pem").string();

  CHECK(error_of({missing, key, ""}).starts_with("--tls-cert " + missing + ": cannot read"));
  CHECK(error_of({cert, missing, ""}).starts_with("--tls-key " + missing + ": cannot read"));
  CHECK(error_of({garbage, key, ""}) == "--tls-cert " + garbage + ": no PEM certificate in it");
  CHECK(error_of({cert, garbage, ""}).starts_with("--tls-key " + garbage + ": no PEM private key"));
  CHECK(error_of({cert, other_key, ""}) == "--tls-key " + other_key + " is not the key of the certificate in " + cert);
  CHECK(error_of({cert, key, garbage}) == "--tls-client-ca " + garbage + ": no PEM certificate in it");
  CHECK(error_of({cert, "", ""}) == "--tls-cert and --tls-key go together");
  CHECK(error_of({"", key, ""}) == "--tls-cert and --tls-key go together");
  CHECK(error_of({"", "", cert}) == "--tls-client-ca needs --tls-cert and --tls-key");
}

TEST_CASE("listen addresses: loopback and unix sockets are local, anything else is not") {
  for (const char* local : {"127.0.0.1:7234", "127.1.2.3:0", "localhost:7234", "[::1]:7234", "unix:/run/aexd.sock",
                            "ipv4:127.0.0.1:7234"}) {
    CAPTURE(local);
    CHECK(is_local_address(local));
  }
  for (const char* remote :
       {"0.0.0.0:7234", "[::]:7234", "10.0.0.5:7234", "aexd.example:7234", ":7234", "128.0.0.1:7234"}) {
    CAPTURE(remote);
    CHECK_FALSE(is_local_address(remote));
  }
}
