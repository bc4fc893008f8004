// TLS and mTLS end to end with certificates made by the test: who can connect, and how a verified
// client certificate's CN stands in for a bearer token.
#include <string>

#include "auth/tokens.h"
#include "support/certificates.h"
#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

const std::string kAdminToken = "aexd_" + std::string(64, 'e');

/// A CA, the server's certificate from it, and a server using them (plus `client_ca` for mTLS).
struct TlsServer {
  explicit TlsServer(bool mutual, const std::string& tokens = "") : server(options(mutual, tokens)) {}

  Options options(bool mutual, const std::string& tokens) {
    const auto cert = ca.server();
    Options o;
    o.tls_cert = write_file(dir.path() / "server.pem", cert.cert);
    o.tls_key = write_file(dir.path() / "server.key", cert.key);
    if (mutual) o.tls_client_ca = write_file(dir.path() / "ca.pem", ca.pem());
    if (!tokens.empty()) o.auth_tokens = write_file(dir.path() / "tokens", tokens);
    return o;
  }
  /// A client that trusts the CA, presenting a certificate for `common_name` if not empty.
  Client client(const std::string& common_name = "", const std::string& token = "") const {
    auth::ClientSecurity security;
    security.ca_pem = ca.pem();
    security.token = token;
    if (!common_name.empty()) {
      const auto cert = ca.client(common_name);
      security.cert_pem = cert.cert;
      security.key_pem = cert.key;
    }
    return Client(server.channel_as(security));
  }

  TempDir dir;
  TestCa ca;
  TestServer server;
};

grpc::StatusCode list_code(const Client& client) { return client.list_executions().status().error_code(); }

}  // namespace

TEST_CASE("tls: a client trusting the server's CA is answered; plaintext and untrusting clients are not") {
  TlsServer s(false);
  CHECK(list_code(s.client()) == grpc::StatusCode::OK);
  CHECK(must(s.client().create(make_agent("Over TLS"))).metadata().name() == "Over TLS");

  CHECK(list_code(Client(s.server.channel())) == grpc::StatusCode::UNAVAILABLE);  // plaintext
  TestCa other("another CA");
  auth::ClientSecurity untrusting;
  untrusting.ca_pem = other.pem();
  CHECK(list_code(Client(s.server.channel_as(untrusting))) == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("mtls: a client without a certificate, or with one another CA signed, is refused") {
  TlsServer s(true);
  CHECK(list_code(s.client("anyone")) == grpc::StatusCode::OK);
  CHECK(list_code(s.client()) == grpc::StatusCode::UNAVAILABLE);

  TestCa other("another CA");
  const auto foreign = other.client("anyone");
  auth::ClientSecurity security;
  security.ca_pem = s.ca.pem();
  security.cert_pem = foreign.cert;
  security.key_pem = foreign.key;
  CHECK(list_code(Client(s.server.channel_as(security))) == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("mtls: a cn: line gives the certificate's subject its role; a bearer token, when sent, decides instead") {
  const std::string tokens = "edge runner cn:runner-7\nadmin writer " + auth::to_hex(auth::sha256(kAdminToken)) + "\n";
  TlsServer s(true, tokens);
  const auto runner = s.client("runner-7");
  const auto agent = must(s.client("runner-7", kAdminToken).create(make_agent("mTLS Agent")));
  const auto execution =
      must(s.client("runner-7", kAdminToken).create(make_execution_for_agent(agent.metadata().id())));

  CHECK(list_code(runner) == grpc::StatusCode::OK);
  ExecutionStatus status;
  status.set_phase(exv1::EXECUTION_IN_PROGRESS);
  CHECK(runner.update_status(execution.metadata().id(), status).ok());
  auto refused = runner.create(make_agent("Not Yours"));
  CHECK(refused.status().error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(refused.status().error_message().find("'edge' has role runner") != std::string::npos);

  // The token is used even when it is worse than the certificate: an unknown one is not a fallback.
  CHECK(list_code(s.client("runner-7", "aexd_" + std::string(64, '0'))) == grpc::StatusCode::UNAUTHENTICATED);
  // A verified certificate whose CN the file does not name is no one.
  CHECK(list_code(s.client("stranger")) == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("tls without client CA: a client certificate is not asked for, so a cn: line grants nothing") {
  TlsServer s(false, "edge runner cn:runner-7\n");
  CHECK(list_code(s.client("runner-7")) == grpc::StatusCode::UNAUTHENTICATED);
}
