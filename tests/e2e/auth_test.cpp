// Token auth end to end: each role against each kind of call, callers without a known token,
// health and reflection without one, and SIGHUP reloading the tokens file of the real aexd binary.
#include <algorithm>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "support/aexd_process.h"
#include "support/certificates.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/runner_stream.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

using Channel = std::shared_ptr<grpc::Channel>;

/// As `aexctl token new` makes them: aexd_ and 64 hex characters.
std::string token_of(char digit) { return "aexd_" + std::string(64, digit); }
const std::string kReader = token_of('1'), kRunner = token_of('2'), kWriter = token_of('3');

std::string line(const std::string& name, const std::string& role, const std::string& token) {
  return name + " " + role + " " + auth::to_hex(auth::sha256(token)) + "\n";
}

auth::ClientSecurity bearer(const std::string& token) {
  auth::ClientSecurity security;
  security.token = token;
  return security;
}

Options with_tokens(const std::string& path) {
  Options options;
  options.auth_tokens = path;
  return options;
}

/// A server whose tokens file names one token per role, and a writer to set things up with.
struct AuthServer {
  TempDir dir;
  std::string tokens =
      write_file(dir.path() / "tokens", "# one per role\n" + line("dash", "reader", kReader) +
                                            line("ci-runner", "runner", kRunner) + line("admin", "writer", kWriter));
  TestServer server{with_tokens(tokens)};
  Client writer{server.channel_as(bearer(kWriter))};
  std::string agent_id = must(writer.create(make_agent("Auth Agent"))).metadata().id();

  std::string fresh_execution() { return must(writer.create(make_execution_for_agent(agent_id))).metadata().id(); }
};

grpc::Status subscribe(AuthServer& s, const Channel& channel) {
  auto stub = exv1::AgentExecutionQueryController::NewStub(channel);
  WatchStream watch(*stub, s.fresh_execution());
  if (watch.wait_for_messages(1)) {
    watch.cancel();
    watch.wait_done();
    return grpc::Status::OK;
  }
  return watch.wait_done();
}

/// A claim that gets an assignment, which it then releases; or the status that refused it.
grpc::Status claim_and_release(AuthServer& s, const Channel& channel) {
  s.fresh_execution();  // something PENDING to be assigned
  RunnerStream runner(channel, "auth-runner");
  auto event = runner.next();
  if (!event) return runner.wait_done();
  REQUIRE(event->has_assignment());
  // Released while the stream is open: a stream that ends first abandons its leases itself.
  auto released = release(channel, event->assignment().execution().metadata().id(), event->assignment().lease_id());
  runner.cancel();
  runner.wait_done();
  return released;
}

struct Call {
  const char* name;
  api::Right right;
  grpc::Status (*make)(AuthServer&, const Channel&);
};

const Call kCalls[] = {
    {"get", api::Right::read,
     [](AuthServer& s, const Channel& ch) { return Client(ch).get<Execution>(s.fresh_execution()).status(); }},
    {"list", api::Right::read, [](AuthServer&, const Channel& ch) { return Client(ch).list_executions().status(); }},
    {"subscribe", api::Right::read, subscribe},
    {"updateStatus", api::Right::run,
     [](AuthServer& s, const Channel& ch) {
       ExecutionStatus status;
       status.set_phase(exv1::EXECUTION_IN_PROGRESS);
       return Client(ch).update_status(s.fresh_execution(), status).status();
     }},
    {"claim and release", api::Right::run, claim_and_release},
    {"release", api::Right::run,
     [](AuthServer& s, const Channel& ch) {
       // Refused before the lease is looked at; allowed, an unknown lease is not PERMISSION_DENIED.
       auto status = release(ch, s.fresh_execution(), "no-such-lease");
       return status.error_code() == grpc::StatusCode::PERMISSION_DENIED ? status : grpc::Status::OK;
     }},
    {"create", api::Right::write,
     [](AuthServer& s, const Channel& ch) { return Client(ch).create(make_execution_for_agent(s.agent_id)).status(); }},
    {"delete", api::Right::write,
     [](AuthServer& s, const Channel& ch) { return Client(ch).remove<Execution>(s.fresh_execution()).status(); }},
    {"cancel", api::Right::write,
     [](AuthServer& s, const Channel& ch) { return Client(ch).cancel(s.fresh_execution(), "stop").status(); }},
    {"agent apply", api::Right::write,
     [](AuthServer&, const Channel& ch) { return Client(ch).apply(make_agent("Applied Agent")).status(); }},
};

}  // namespace

TEST_CASE("auth: each role makes the calls its right covers and is refused the others, naming role and right") {
  AuthServer s;
  struct Role {
    const char* name;
    std::string token;
    auth::Role role;
  };
  for (const Role& role : {Role{"reader", kReader, auth::Role::reader}, Role{"runner", kRunner, auth::Role::runner},
                           Role{"writer", kWriter, auth::Role::writer}}) {
    const auto channel = s.server.channel_as(bearer(role.token));
    for (const Call& call : kCalls) {
      CAPTURE(role.name);
      CAPTURE(call.name);
      const auto status = call.make(s, channel);
      if (auth::allows(role.role, call.right)) {
        CHECK_MESSAGE(status.ok(), describe(status));
      } else {
        CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(status.error_message().find(std::string("role ") + role.name) != std::string::npos);
        CHECK(status.error_message().find(std::string(auth::name_of(call.right)) + " right") != std::string::npos);
      }
    }
  }
}

TEST_CASE("auth: no token, a wrong token and a malformed header are UNAUTHENTICATED, for calls and streams") {
  AuthServer s;
  const std::string wrong = token_of('9');
  const auto id = s.fresh_execution();

  auto none = Client(s.server.channel()).get<Execution>(id);
  CHECK(none.status().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(none.status().error_message().find("no bearer token") != std::string::npos);

  auto unknown = Client(s.server.channel_as(bearer(wrong))).get<Execution>(id);
  CHECK(unknown.status().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(unknown.status().error_message() == "unknown bearer token");

  for (const std::string& header : {"Basic " + kWriter, kWriter, std::string("Bearer")}) {
    CAPTURE(header);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", header);
    exv1::AgentExecutionId request;
    request.set_value(id);
    Execution out;
    auto status = s.server.execution_queries()->get(&ctx, request, &out);
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(status.error_message().find("not \"Bearer <token>\"") != std::string::npos);
    CHECK(status.error_message().find(kWriter) == std::string::npos);
  }

  // Streams are checked when they start.
  for (const auto& channel : {s.server.channel(), s.server.channel_as(bearer(wrong))}) {
    CHECK(subscribe(s, channel).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    RunnerStream runner(channel, "anonymous");
    CHECK(runner.wait_done().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  // The bearer scheme in any case (RFC 6750).
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("authorization", "bEaReR " + kReader);
  exv1::AgentExecutionId request;
  request.set_value(id);
  Execution out;
  CHECK(s.server.execution_queries()->get(&ctx, request, &out).ok());
}

TEST_CASE("auth: health Check and reflection answer without a token") {
  AuthServer s;
  grpc::ClientContext health_ctx;
  health_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse health;
  REQUIRE(grpc::health::v1::Health::NewStub(s.server.channel())->Check(&health_ctx, {}, &health).ok());
  CHECK(health.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = grpc::reflection::v1::ServerReflection::NewStub(s.server.channel())->ServerReflectionInfo(&ctx);
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_list_services("*");
  REQUIRE(stream->Write(request));
  grpc::reflection::v1::ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) services.push_back(service.name());
  CHECK(std::find(services.begin(), services.end(), std::string(api::methods::kExecutionQueries)) != services.end());
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

namespace {

grpc::StatusCode list_as(const AexdProcess& aexd, const std::string& token) {
  return Client(aexd.channel(bearer(token))).list_executions().status().error_code();
}

}  // namespace

TEST_CASE("auth: SIGHUP re-reads the tokens file; a file that does not parse keeps the tokens in use") {
  TempDir dir;
  const auto old_token = token_of('a'), new_token = token_of('b');
  const auto tokens = write_file(dir.path() / "tokens", line("old", "reader", old_token));
  AexdProcess aexd(test_database(dir), "--auth-tokens " + tokens);
  CHECK(list_as(aexd, old_token) == grpc::StatusCode::OK);
  CHECK(list_as(aexd, new_token) == grpc::StatusCode::UNAUTHENTICATED);

  write_file(tokens, line("new", "reader", new_token));
  aexd.signal(SIGHUP);
  // Printed once the new table is in use.
  const std::string reread = aexd.wait_for("tokens re-read");
  CHECK(reread.find(tokens) != std::string::npos);
  CHECK(reread.find("entries=1") != std::string::npos);
  CHECK(list_as(aexd, old_token) == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(list_as(aexd, new_token) == grpc::StatusCode::OK);

  write_file(tokens, "new reader\n");
  aexd.signal(SIGHUP);
  CHECK(aexd.wait_for("tokens unchanged").find(tokens + ":1: ") != std::string::npos);
  CHECK(list_as(aexd, new_token) == grpc::StatusCode::OK);
}

TEST_CASE("auth: aexd warns that auth is off when it listens beyond loopback without --auth-tokens") {
  TempDir open_dir, loopback_dir, tokens_dir;
  // The warning comes before the "serving" line, which each AexdProcess waits for.
  AexdProcess open_to_all(test_database(open_dir), "", "0.0.0.0:0");
  CHECK(open_to_all.log().find("auth is off") != std::string::npos);
  AexdProcess loopback(test_database(loopback_dir));
  CHECK(loopback.log().find("auth is off") == std::string::npos);
  const auto tokens = write_file(tokens_dir.path() / "tokens", line("x", "reader", kReader));
  AexdProcess with_tokens(test_database(tokens_dir), "--auth-tokens " + tokens, "0.0.0.0:0");
  CHECK(with_tokens.log().find("auth is off") == std::string::npos);
}

TEST_CASE("auth: a bad tokens file stops aexd at start, naming the file and line") {
  TempDir dir;
  const auto tokens = write_file(dir.path() / "tokens", "# fine\nbad line\n");
  auto child = spawn_child(aexd_command(test_database(dir), "--auth-tokens " + tokens));
  const auto output = run_child_to_exit(*child);
  CHECK_FALSE(child->exit_status()->success());
  std::string err;
  for (const auto& l : output.stderr_lines) err += l + "\n";
  CHECK(err.find(tokens + ":2: ") != std::string::npos);
}
