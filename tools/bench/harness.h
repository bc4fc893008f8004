// What the single-purpose benchmark tools (aexd-watchbench, aexd-dispatchbench) share: a steady
// clock in ns, connections of their own to the server (a token and TLS if asked), a fresh agent, the server's RSS, and
// giving up with a message. Header-only; every function is safe to call from any thread.
#pragma once

#include <errno.h>  // program_invocation_short_name
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ai/stigmer/agentic/agent/v1/agent.grpc.pb.h"
#include "auth/client_channel.h"

namespace aexd::bench {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Prints "<tool>: <message>" and ends the process at once: callbacks of gRPC may still be
/// running on other threads, so no static destructors run.
[[noreturn]] inline void fail(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

inline void check(const grpc::Status& status, const std::string& what) {
  if (!status.ok()) fail(what + ": " + status.error_message());
}

/// `n` channels to `host`, each its own HTTP/2 connection (a local subchannel pool and a distinct
/// argument keep gRPC from sharing one), connected before this returns; with `security`'s token and TLS.
inline std::vector<std::shared_ptr<grpc::Channel>> connect(const std::string& host, int n,
                                                           const auth::ClientSecurity& security = {}) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    args.SetInt("aexd.bench.connection", i);
    channels.push_back(auth::open_channel(host, security, args));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)))
      fail("cannot connect to " + host);
  }
  return channels;
}

/// The contents of the file at `path`, or fail().
inline std::string read_file_or_fail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) fail("cannot read " + path);
  return text.str();
}

/// Creates an organization-scoped agent with a unique name; returns its id.
inline std::string create_agent(const std::shared_ptr<grpc::Channel>& channel, const std::string& name) {
  namespace agentv1 = ai::stigmer::agentic::agent::v1;
  agentv1::Agent agent, created;
  agent.mutable_metadata()->set_name(name + " " + std::to_string(now_ns()));
  agent.mutable_metadata()->set_owner_scope(ai::stigmer::commons::apiresource::organization);
  agent.mutable_spec()->set_instructions("Benchmark agent: its executions are load.");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  check(agentv1::AgentCommandController::NewStub(channel)->create(&ctx, agent, &created), "create agent");
  return created.metadata().id();
}

/// VmRSS of process `pid` in KiB, or -1 when it cannot be read.
inline long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

}  // namespace aexd::bench
