// aexctl's client commands against a real in-process server: the built binary is run with flags,
// its stdout, stderr and exit status checked, and what it did read back through the typed client.
// `exec watch` runs on a pseudo-terminal (and on a pipe) while the test pushes status; it waits on
// the output it reads, never on time.
#include <nlohmann/json.hpp>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/phase.h"
#include "cli/token.h"
#include "support/certificates.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/pseudo_terminal.h"

using namespace aexd;
using namespace aexd::test;

namespace {

struct Ran {
  cli::ExitStatus status;
  std::vector<std::string> out, err;

  std::string stdout_text() const {
    std::string s;
    for (const auto& line : out) s += line + "\n";
    return s;
  }
  std::string stderr_text() const {
    std::string s;
    for (const auto& line : err) s += line + "\n";
    return s;
  }
};

struct Fixture {
  TestServer server;
  Client api{server.channel()};

  /// Runs `aexctl --addr ADDR ARGS` (ARGS already shell-quoted where needed) to its exit.
  Ran aexctl(const std::string& args, std::string input = "") const {
    auto child = spawn_child("exec " AEXCTL_PATH " --addr " + server.address() + " " + args, std::move(input));
    const cli::Output output = run_child_to_exit(*child);
    return {*child->exit_status(), output.stdout_lines, output.stderr_lines};
  }
  /// aexctl that must succeed; its stdout.
  std::string ok(const std::string& args, std::string input = "") const {
    const Ran ran = aexctl(args, std::move(input));
    INFO("aexctl " << args << "\n" << ran.stderr_text());
    REQUIRE(ran.status.success());
    return ran.stdout_text();
  }

  std::string agent_id() {
    if (agent_.empty()) agent_ = must(api.create(make_agent("Shell Agent"))).metadata().id();
    return agent_;
  }
  std::string create_execution(const std::string& message = "hello") {
    return must(api.create(make_execution_for_agent(agent_id(), message))).metadata().id();
  }
  void push(const std::string& id, exv1::ExecutionPhase phase, const std::vector<std::string>& messages,
            const std::string& error = "") {
    ExecutionStatus status;
    status.set_phase(phase);
    for (const auto& text : messages) {
      auto* m = status.add_messages();
      m->set_type(exv1::MESSAGE_AI);
      m->set_content(text);
    }
    status.set_error(error);
    must(api.update_status(id, status));
  }

 private:
  std::string agent_;
};

/// The execution ids of `exec list`'s table (its first column, header skipped).
std::vector<std::string> listed_ids(const std::string& table) {
  std::vector<std::string> ids;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);
  CHECK(line.starts_with("ID"));
  while (std::getline(lines, line)) ids.push_back(line.substr(0, line.find(' ')));
  return ids;
}

}  // namespace

TEST_CASE("aexctl agent apply: from a JSON file, from stdin and from flags; a second apply updates") {
  Fixture f;
  TempDir dir;
  const std::string file = (dir.path() / "agent.json").string();
  std::ofstream(file) << R"({"metadata": {"name": "Code Reviewer", "ownerScope": "organization", "org": "acme"},
                             "spec": {"instructions": "Review the diff carefully."}})";
  const std::string created = f.ok("agent apply -f " + file);
  CHECK(created.find("(code-reviewer) created") != std::string::npos);

  const std::string updated =
      f.ok("agent apply -f - --instructions 'Review the diff twice, then once more.'",
           R"({"metadata": {"name": "Code Reviewer", "ownerScope": "organization", "org": "acme"}})");
  CHECK(updated.find("(code-reviewer) updated") != std::string::npos);
  CHECK(created.substr(0, created.find(' ', 7)) == updated.substr(0, updated.find(' ', 7)));  // "agent agt-..."

  res::ApiResourceReference ref;
  ref.set_scope(res::organization);
  ref.set_org("acme");
  ref.set_slug("code-reviewer");
  const Agent stored = must(f.api.get_by_reference<Agent>(ref));
  CHECK(stored.spec().instructions() == "Review the diff twice, then once more.");

  CHECK(f.ok("agent apply --name 'Platform Helper' --instructions 'Helps with the platform.'").find("created") !=
        std::string::npos);
  ref.set_scope(res::platform);
  ref.set_org("");
  ref.set_slug("platform-helper");
  CHECK(must(f.api.get_by_reference<Agent>(ref)).spec().instructions() == "Helps with the platform.");

  const Ran bad = f.aexctl("agent apply -f -", "{not json");
  CHECK(bad.status.code == cli::exit_code::kUsage);
  CHECK(bad.stderr_text().starts_with("aexctl: stdin: "));
}

TEST_CASE("aexctl agent get by name or id, and delete; a deleted agent is NOT_FOUND with exit status 1") {
  Fixture f;
  const Agent agent = must(f.api.create(make_agent("Code Reviewer")));
  const std::string& id = agent.metadata().id();

  const std::string by_name = f.ok("agent get 'Code Reviewer' --org acme");
  CHECK(by_name.find("id:           " + id) != std::string::npos);
  CHECK(by_name.find("slug:         code-reviewer") != std::string::npos);
  CHECK(f.ok("agent get code-reviewer --org acme") == by_name);
  CHECK(f.ok("agent get " + id) == by_name);

  CHECK(f.ok("agent delete " + id) == "deleted agent " + id + "\n");
  CHECK_FALSE(f.api.get<Agent>(id).ok());

  const Ran gone = f.aexctl("agent get " + id);
  CHECK(gone.status.code == cli::exit_code::kCallFailed);
  REQUIRE(gone.err.size() == 1);
  CHECK(gone.err[0].starts_with("aexctl: NOT_FOUND: "));
  CHECK(gone.out.empty());
  CHECK(f.aexctl("agent get code-reviewer --org acme").err.at(0).starts_with("aexctl: NOT_FOUND: "));
}

TEST_CASE("aexctl exec create by agent name, get, and -o json in protobuf's JSON mapping") {
  Fixture f;
  const std::string agent_id = must(f.api.create(make_agent("Code Reviewer"))).metadata().id();
  const std::string created = f.ok("exec create --agent 'Code Reviewer' --org acme -m 'review PR 7' --tag ci");
  const std::string id = created.substr(0, created.size() - 1);
  REQUIRE(id.starts_with("aex-"));
  const Execution stored = must(f.api.get<Execution>(id));
  CHECK(stored.spec().agent_id() == agent_id);
  CHECK(stored.spec().message() == "review PR 7");
  CHECK(stored.metadata().tags(0) == "ci");

  const std::string shown = f.ok("exec get " + id);
  CHECK(shown.find("phase:     PENDING") != std::string::npos);
  CHECK(shown.find("message:   review PR 7") != std::string::npos);

  const auto json = nlohmann::json::parse(f.ok("-o json exec get " + id));
  CHECK(json["metadata"]["id"] == id);
  CHECK(json["spec"]["agentId"] == agent_id);
  CHECK(json["spec"]["message"] == "review PR 7");
  CHECK(json["status"]["phase"] == "EXECUTION_PENDING");
  CHECK(json["kind"] == "AgentExecution");

  const auto by_id = nlohmann::json::parse(f.ok("-o json exec create --agent " + agent_id + " -m second"));
  CHECK(by_id["spec"]["message"] == "second");
  CHECK(by_id["status"]["phase"] == "EXECUTION_PENDING");

  const Ran unknown = f.aexctl("exec get aex-01hzzzzzzzzzzzzzzzzzzzzzzz");
  CHECK(unknown.status.code == cli::exit_code::kCallFailed);
  CHECK(unknown.stderr_text().starts_with("aexctl: NOT_FOUND: "));
  CHECK(f.aexctl("exec create --agent missing-agent -m x").stderr_text().starts_with("aexctl: NOT_FOUND: "));
}

TEST_CASE("aexctl exec list follows x-next-page-token across pages up to --limit, newest first, with filters") {
  Fixture f;
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 7; ++i) ids.push_back(f.create_execution("message " + std::to_string(i) + "\nsecond line"));
  const std::vector<std::string> newest_first(ids.rbegin(), ids.rend());

  const std::string table = f.ok("exec list --page-size 2 --limit 0");
  CHECK(listed_ids(table) == newest_first);
  CHECK(table.find("message 6") != std::string::npos);
  CHECK(table.find("second line") == std::string::npos);  // the first line of a message only
  CHECK(table.find("PENDING") != std::string::npos);

  CHECK(listed_ids(f.ok("exec list --page-size 2 --limit 5")) ==
        std::vector<std::string>(newest_first.begin(), newest_first.begin() + 5));
  CHECK(listed_ids(f.ok("exec list --page-size 3")).size() == 7);  // default --limit 50

  must(f.api.cancel(ids[2], "not needed"));
  CHECK(listed_ids(f.ok("exec list --phase cancelled --page-size 1")) == std::vector<std::string>{ids[2]});
  CHECK(listed_ids(f.ok("exec list --phase EXECUTION_PENDING --page-size 2")).size() == 6);

  const auto json = nlohmann::json::parse(f.ok("-o json exec list --page-size 2 --limit 3"));
  REQUIRE(json["entries"].size() == 3);
  CHECK(json["entries"][0]["metadata"]["id"] == ids[6]);

  const Ran bad = f.aexctl("exec list --phase running");
  CHECK(bad.status.code == cli::exit_code::kUsage);
  CHECK(bad.stderr_text() == "aexctl: unknown phase running\n");
}

TEST_CASE("aexctl exec pause, resume, cancel and terminate change the phase; a refused change exits 1") {
  Fixture f;
  const std::string id = f.create_execution();
  CHECK(f.ok("exec pause " + id + " --reason 'lunch'") == id + " PAUSED\n");
  CHECK(must(f.api.get<Execution>(id)).status().phase() == exv1::EXECUTION_PAUSED);
  CHECK(f.ok("exec resume " + id) == id + " IN_PROGRESS\n");
  CHECK(f.ok("exec cancel " + id + " --reason 'changed my mind'") == id + " CANCELLED\n");
  const Execution cancelled = must(f.api.get<Execution>(id));
  CHECK(cancelled.status().phase() == exv1::EXECUTION_CANCELLED);
  CHECK(cancelled.status().error() == "changed my mind");

  const Ran refused = f.aexctl("exec pause " + id);
  CHECK(refused.status.code == cli::exit_code::kCallFailed);
  CHECK(refused.stderr_text().starts_with("aexctl: FAILED_PRECONDITION: "));

  const std::string other = f.create_execution();
  CHECK(f.ok("exec terminate " + other + " --reason stuck") == other + " TERMINATED\n");
  CHECK(must(f.api.get<Execution>(other)).status().error() == "stuck");

  CHECK(f.ok("exec delete " + other) == "deleted execution " + other + "\n");
  CHECK(f.aexctl("exec delete " + other).stderr_text().starts_with("aexctl: NOT_FOUND: "));
}

TEST_CASE("aexctl exec push sets the phase and appends messages to the stored ones") {
  Fixture f;
  const std::string id = f.create_execution();
  CHECK(f.ok("exec push " + id + " --phase in_progress -m 'step one'") == id + " IN_PROGRESS\n");
  CHECK(f.ok("exec push " + id + " -m 'step two' --type thinking") == id + " IN_PROGRESS\n");
  Execution e = must(f.api.get<Execution>(id));
  REQUIRE(e.status().messages_size() == 2);
  CHECK(e.status().messages(0).content() == "step one");
  CHECK(e.status().messages(0).type() == exv1::MESSAGE_AI);
  CHECK(e.status().messages(1).content() == "step two");
  CHECK(e.status().messages(1).type() == exv1::MESSAGE_THINKING);
  CHECK_FALSE(e.status().started_at().empty());

  const auto json = nlohmann::json::parse(f.ok("-o json exec push " + id + " --phase EXECUTION_COMPLETED"));
  CHECK(json["status"]["phase"] == "EXECUTION_COMPLETED");
  CHECK(json["status"]["messages"].size() == 2);
  e = must(f.api.get<Execution>(id));
  CHECK(e.status().phase() == exv1::EXECUTION_COMPLETED);
  CHECK_FALSE(e.status().completed_at().empty());

  CHECK(f.aexctl("exec push " + id + " --phase nonsense").status.code == cli::exit_code::kUsage);
  CHECK(f.aexctl("exec push " + id + " --phase failed").stderr_text().starts_with("aexctl: FAILED_PRECONDITION: "));
}

TEST_CASE("aexctl exec watch on a terminal shows each pushed message once, as it comes, and exits 0 on COMPLETED") {
  Fixture f;
  const std::string id = f.create_execution("build it");
  PseudoTerminal tty({AEXCTL_PATH, "--addr", f.server.address(), "exec", "watch", id});
  REQUIRE_MESSAGE(tty.wait_for("PENDING"), tty.output());  // subscribed: the first snapshot is on screen

  f.push(id, exv1::EXECUTION_IN_PROGRESS, {"step one"});
  REQUIRE_MESSAGE(tty.wait_for("step one"), tty.output());
  const size_t after_one = tty.output().size();
  f.push(id, exv1::EXECUTION_IN_PROGRESS, {"step one", "step two"});
  REQUIRE_MESSAGE(tty.wait_for("step two", after_one), tty.output());
  f.push(id, exv1::EXECUTION_COMPLETED, {"step one", "step two", "done"});

  const auto code = tty.wait_exit();
  INFO(tty.output());
  REQUIRE(code);
  CHECK(*code == 0);
  const std::string& out = tty.output();
  CHECK(occurrences(out, "step one") == 1);
  CHECK(occurrences(out, "step two") == 1);
  CHECK(out.find("done") > out.find("step two"));
  CHECK(out.find("\033[32mCOMPLETED\033[0m") != std::string::npos);  // coloured on a terminal
}

TEST_CASE("aexctl exec watch on a terminal stopped by Ctrl-C wipes its progress line and exits 130") {
  Fixture f;
  const std::string id = f.create_execution();
  f.push(id, exv1::EXECUTION_IN_PROGRESS, {"working"});
  PseudoTerminal tty({AEXCTL_PATH, "--addr", f.server.address(), "exec", "watch", id});
  REQUIRE_MESSAGE(tty.wait_for("working"), tty.output());
  REQUIRE_MESSAGE(tty.wait_for("IN_PROGRESS\033[0m  "), tty.output());  // the progress line is drawn
  tty.type("\x03");
  const auto code = tty.wait_exit();
  INFO(tty.output());
  REQUIRE(code);
  CHECK(*code == cli::exit_code::kInterrupted);
  // After the last progress line drawn, the wipe (the terminal's own "^C" echo may come either side).
  const std::string& out = tty.output();
  CHECK(out.find("\033[0m\r\033[K", out.rfind("IN_PROGRESS\033[0m  ")) != std::string::npos);
}

TEST_CASE("aexctl exec watch exits non-zero when the execution ends FAILED, on a terminal or a pipe") {
  Fixture f;
  const std::string id = f.create_execution();
  PseudoTerminal tty({AEXCTL_PATH, "--addr", f.server.address(), "exec", "watch", id});
  REQUIRE_MESSAGE(tty.wait_for("PENDING"), tty.output());
  f.push(id, exv1::EXECUTION_FAILED, {"trying"}, "boom");
  const auto code = tty.wait_exit();
  INFO(tty.output());
  REQUIRE(code);
  CHECK(*code == cli::exit_code::kFailed);
  CHECK(tty.output().find("boom") != std::string::npos);

  // On a pipe the execution is already terminal: one snapshot, plain lines, the same exit status.
  const Ran piped = f.aexctl("exec watch " + id);
  CHECK(piped.status.code == cli::exit_code::kFailed);
  CHECK(piped.out == std::vector<std::string>{"execution " + id + " (agent " + f.agent_id() + ")", "ai: trying",
                                              "phase FAILED", "FAILED: boom"});

  const Ran unknown = f.aexctl("exec watch aex-01hzzzzzzzzzzzzzzzzzzzzzzz");
  CHECK(unknown.status.code == cli::exit_code::kCallFailed);
  CHECK(unknown.stderr_text().starts_with("aexctl: NOT_FOUND: "));
}

TEST_CASE("aexctl exec create --watch prints the id, then follows the execution to its end") {
  Fixture f;
  auto child = spawn_child("exec " AEXCTL_PATH " --addr " + f.server.address() + " exec create --watch --agent " +
                           f.agent_id() + " -m go");
  cli::Output out;
  REQUIRE(poll_child_until(*child, out, [](const cli::Output& o) { return o.stdout_lines.size() >= 3; }));
  const std::string id = out.stdout_lines.at(0);
  CHECK(out.stdout_lines.at(1) == "execution " + id + " (agent " + f.agent_id() + ")");
  f.push(id, exv1::EXECUTION_CANCELLED, {});
  REQUIRE(poll_child_until(*child, out, [](const cli::Output&) { return false; }));
  CHECK(child->exit_status()->code == cli::exit_code::kCancelled);
  CHECK(out.stdout_lines.back() == "CANCELLED");
}

TEST_CASE("aexctl token new prints a token and the tokens-file line with its SHA-256") {
  Fixture f;
  const Ran ran = f.aexctl("token new ci-bot runner");
  REQUIRE(ran.status.success());
  REQUIRE(ran.out.size() == 2);
  const std::string& token = ran.out[0];
  CHECK(token.starts_with("aexd_"));
  CHECK(token.size() == 69);
  CHECK(ran.out[1] == "ci-bot runner " + cli::sha256_hex(token));
  CHECK(f.aexctl("token new ci-bot runner").out[0] != token);

  CHECK(f.aexctl("token new 'bad name' reader").status.code == cli::exit_code::kUsage);
  CHECK(f.aexctl("token new bot admin").status.code == cli::exit_code::kUsage);
}

namespace {

/// A stand-in aexd that records the authorization header of each `get` and answers NOT_FOUND: the
/// test server does not check tokens, this shows what aexctl sends.
class RecordingQueries final : public exv1::AgentExecutionQueryController::Service {
 public:
  grpc::Status get(grpc::ServerContext* context, const exv1::AgentExecutionId*, Execution*) override {
    const auto& headers = context->client_metadata();
    const auto it = headers.find("authorization");
    std::lock_guard lock(mutex_);
    seen_.push_back(it == headers.end() ? "(none)" : std::string(it->second.data(), it->second.size()));
    return {grpc::StatusCode::NOT_FOUND, "recorded"};
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

/// RecordingQueries served on 127.0.0.1:0 with `credentials`.
struct RecordingServer {
  RecordingQueries service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;

  explicit RecordingServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
  }
  ~RecordingServer() { server->Shutdown(); }

  /// `aexctl --addr THIS ARGS exec get aex-1` to its exit.
  Ran get(const std::string& args, const std::vector<std::pair<std::string, std::string>>& env = {}) const {
    auto child = spawn_child(
        "exec " AEXCTL_PATH " --addr 127.0.0.1:" + std::to_string(port) + " " + args + " exec get aex-1", "", env);
    const cli::Output out = run_child_to_exit(*child);
    return {*child->exit_status(), out.stdout_lines, out.stderr_lines};
  }
};

const std::vector<std::string> kRecorded{"aexctl: NOT_FOUND: recorded"};

}  // namespace

TEST_CASE("aexctl sends the token of --token-file, else of AEXD_TOKEN, as `authorization: Bearer`") {
  RecordingServer stand_in(grpc::InsecureServerCredentials());
  TempDir dir;
  const std::string file = (dir.path() / "token").string();
  std::ofstream(file) << "  aexd_0123  \nignored\n";
  for (const Ran& ran : {stand_in.get("--token-file " + file, {{"AEXD_TOKEN", "from-env"}}),
                         stand_in.get("", {{"AEXD_TOKEN", "aexd_from_env"}}), stand_in.get("", {{"AEXD_TOKEN", ""}})}) {
    CHECK(ran.status.code == cli::exit_code::kCallFailed);
    CHECK(ran.err == kRecorded);
  }
  CHECK(stand_in.service.seen() == std::vector<std::string>{"Bearer aexd_0123", "Bearer aexd_from_env", "(none)"});

  const Ran missing = stand_in.get("--token-file " + (dir.path() / "none").string());
  CHECK(missing.status.code == cli::exit_code::kUsage);
  CHECK(missing.stderr_text().find("cannot read") != std::string::npos);
  CHECK(stand_in.service.seen().size() == 3);  // no call made
}

TEST_CASE("aexctl --tls-ca speaks TLS, and --tls-cert/--tls-key present the client certificate mTLS asks for") {
  TempDir dir;
  const TestCa ca, other_ca("another CA");
  const CertifiedKey server = ca.server("server"), client = ca.client("client");
  const std::string ca_path = write_file(dir.path() / "ca.crt", ca.pem());
  const std::string other_ca_path = write_file(dir.path() / "other-ca.crt", other_ca.pem());
  const std::string client_cert_path = write_file(dir.path() / "client.crt", client.cert);
  const std::string client_key_path = write_file(dir.path() / "client.key", client.key);
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = ca.pem();
  tls.pem_key_cert_pairs.push_back({server.key, server.cert});
  RecordingServer stand_in(grpc::SslServerCredentials(tls));

  const std::string mtls = "--tls-ca " + ca_path + " --tls-cert " + client_cert_path + " --tls-key " + client_key_path;
  const Ran ok = stand_in.get(mtls, {{"AEXD_TOKEN", "aexd_tls"}});
  CHECK(ok.err == kRecorded);  // the call went through: the server answered it
  CHECK(stand_in.service.seen() == std::vector<std::string>{"Bearer aexd_tls"});

  // Without the client certificate, trusting another root, or in plaintext: no call gets through.
  for (const std::string& args :
       {"--tls-ca " + ca_path,
        "--tls-ca " + other_ca_path + " --tls-cert " + client_cert_path + " --tls-key " + client_key_path,
        std::string()}) {
    CAPTURE(args);
    const Ran refused = stand_in.get(args);
    CHECK(refused.status.code == cli::exit_code::kCallFailed);
    CHECK(refused.stderr_text().starts_with("aexctl: UNAVAILABLE: "));
  }
  CHECK(stand_in.service.seen().size() == 1);

  const Ran half = stand_in.get("--tls-ca " + ca_path + " --tls-cert " + client_cert_path);
  CHECK(half.status.code == cli::exit_code::kUsage);
  CHECK(half.stderr_text() == "aexctl: --tls-cert and --tls-key go together\n");
}
