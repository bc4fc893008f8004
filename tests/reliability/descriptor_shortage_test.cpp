// Descriptor exhaustion and recovery, in plaintext and over TLS: aexd limited to 256 descriptors,
// connections opened until new ones are refused. Open connections keep working and their health
// says NOT_SERVING; once the connections close, health says SERVING again and new clients are served.
#include <functional>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/aexd_process.h"
#include "support/certificates.h"
#include "support/client.h"
#include "support/temp_dir.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

constexpr int kLimit = 256;

/// The server's health ("") over `channel`, or the status of the Check that failed.
struct Answer {
  grpc::Status status;
  HealthCheckResponse::ServingStatus serving = HealthCheckResponse::UNKNOWN;
};
Answer health_of(const std::shared_ptr<grpc::Channel>& channel, std::chrono::seconds timeout = 5s) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  HealthCheckResponse response;
  Answer answer;
  answer.status = Health::NewStub(channel)->Check(&ctx, HealthCheckRequest(), &response);
  answer.serving = response.status();
  return answer;
}

/// Opens connections to aexd (started with `args` under a 256-descriptor limit) until one is
/// refused, then closes them; `connect` opens a connection of its own.
void exhaust_and_recover(const std::string& args,
                         const std::function<std::shared_ptr<grpc::Channel>(const AexdProcess&)>& connect) {
  TempDir dir;
  AexdProcess aexd((dir.path() / "aexd.db").string(), "--readers 2 " + args, "127.0.0.1:0",
                   "ulimit -n " + std::to_string(kLimit) + "; ");
  auto existing = connect(aexd);
  REQUIRE(health_of(existing).serving == HealthCheckResponse::SERVING);
  Client client(existing);
  const auto agent = must(client.create(make_agent()));

  std::vector<std::shared_ptr<grpc::Channel>> held;
  Answer refused;
  while (held.size() < kLimit) {
    auto channel = connect(aexd);
    refused = health_of(channel);
    if (!refused.status.ok()) break;
    held.push_back(std::move(channel));
  }
  const size_t opened = held.size();
  INFO("held " << opened << " connections");
  REQUIRE(opened < kLimit);
  CHECK(refused.status.error_code() == grpc::StatusCode::UNAVAILABLE);  // at once: no deadline passed
  CHECK(opened > kLimit / 2);  // the descriptors kept in reserve are an eighth of the limit
  CHECK(aexd.open_descriptors() < kLimit);
  CHECK(!health_of(connect(aexd)).status.ok());  // still refused, not served half-way

  // The connections already open are served; their health says no new one can be accepted.
  CHECK(health_of(existing).serving == HealthCheckResponse::NOT_SERVING);
  CHECK(must(client.get<Agent>(agent.metadata().id())).metadata().id() == agent.metadata().id());
  CHECK(must(client.create(make_agent("second agent"))).metadata().id() != agent.metadata().id());

  // With the connections gone health recovers before any new client connects to prove it.
  held.clear();
  CHECK(eventually([&] { return health_of(existing).serving == HealthCheckResponse::SERVING; }, 30s));
  CHECK(eventually([&] { return health_of(connect(aexd), 2s).serving == HealthCheckResponse::SERVING; }, 30s));
  CHECK(must(Client(connect(aexd)).get<Agent>(agent.metadata().id())).metadata().id() == agent.metadata().id());

  CHECK(aexd.log().find("descriptors=256 descriptors_were=256") != std::string::npos);
  aexd.wait_for("refusing new connections, health NOT_SERVING");
  aexd.wait_for("descriptors free again: accepting connections");
  CHECK(aexd.log().find("Failed accept4") == std::string::npos);  // the listener never retired
}

}  // namespace

TEST_CASE("out of descriptors, aexd refuses new connections, serves open ones, and recovers when they close") {
  exhaust_and_recover("", [](const AexdProcess& aexd) { return aexd.new_channel(); });
}

TEST_CASE("over TLS too, a descriptor shortage refuses new connections until descriptors free up") {
  TempDir certificates;
  TestCa ca;
  const auto cert = ca.server();
  const std::string args = "--tls-cert " + write_file(certificates.path() / "server.pem", cert.cert) + " --tls-key " +
                           write_file(certificates.path() / "server.key", cert.key);
  auth::ClientSecurity security;
  security.ca_pem = ca.pem();
  exhaust_and_recover(args, [&](const AexdProcess& aexd) {
    grpc::ChannelArguments own;
    own.SetInt("grpc.use_local_subchannel_pool", 1);
    return auth::open_channel(aexd.address(), security, own);
  });
}
