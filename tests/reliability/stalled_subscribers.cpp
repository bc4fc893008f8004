// A client that opens subscribe streams and never reads from them, so that gRPC's flow control
// stops the server's writes: `stalled_subscribers ADDRESS STREAMS CONNECTIONS ID...` spreads STREAMS
// over CONNECTIONS and the ids, prints "subscribed N" once every stream has its reply headers, then
// waits to be killed (reliability/stalled_subscribers_test.cpp runs it).
#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;

namespace {

struct Progress {
  std::mutex mutex;
  std::condition_variable changed;
  int subscribed = 0;
  int ended = 0;
};

class StalledStream final : public grpc::ClientReadReactor<exv1::AgentExecution> {
 public:
  StalledStream(exv1::AgentExecutionQueryController::Stub& stub, const std::string& id, Progress& progress)
      : progress_(progress) {
    request_.set_value(id);
    stub.async()->subscribe(&context_, &request_, this);
    StartCall();  // and no StartRead, ever
  }
  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) count(&Progress::subscribed);
  }
  void OnDone(const grpc::Status&) override { count(&Progress::ended); }

 private:
  void count(int Progress::*field) {
    std::lock_guard lock(progress_.mutex);
    ++(progress_.*field);
    progress_.changed.notify_all();
  }

  Progress& progress_;
  grpc::ClientContext context_;
  exv1::AgentExecutionId request_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: stalled_subscribers ADDRESS STREAMS CONNECTIONS ID...\n");
    return 2;
  }
  const std::string address = argv[1];
  const int streams = std::atoi(argv[2]);
  const int connections = std::atoi(argv[3]);
  const std::vector<std::string> ids(argv + 4, argv + argc);

  std::vector<std::unique_ptr<exv1::AgentExecutionQueryController::Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    stubs.push_back(exv1::AgentExecutionQueryController::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  Progress progress;
  std::vector<std::unique_ptr<StalledStream>> open;
  for (int i = 0; i < streams; ++i)
    open.push_back(std::make_unique<StalledStream>(*stubs[i % connections], ids[i % ids.size()], progress));

  std::unique_lock lock(progress.mutex);
  progress.changed.wait_for(lock, std::chrono::seconds(60),
                            [&] { return progress.subscribed + progress.ended >= streams; });
  std::printf("subscribed %d ended %d\n", progress.subscribed, progress.ended);
  std::fflush(stdout);
  lock.unlock();
  for (;;) pause();  // the reactors are never freed: the test ends this process with SIGKILL
}
