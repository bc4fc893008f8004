#include "app/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <exception>
#include <thread>

#include "api/noop_service.h"
#include "api/services.h"
#include "store/schema.h"

namespace aexd {
namespace {

int default_readers() { return static_cast<int>(std::max(2u, std::thread::hardware_concurrency())); }

}  // namespace

Server::Server(Options options)
    : options_(std::move(options)),
      pool_(static_cast<size_t>((options_.readers > 0 ? options_.readers : default_readers()) + 1)) {}

Result<std::unique_ptr<Server>> Server::start(Options options) {
  std::unique_ptr<Server> server(new Server(std::move(options)));
  auto& s = *server;
  const int readers = s.options_.readers > 0 ? s.options_.readers : default_readers();
  try {
    auto writer = store::Connection::open(s.options_.db, s.options_.sync);
    store::migrate(*writer);
    auto checkpointer = store::Connection::open(s.options_.db, s.options_.sync);
    s.cache_ = std::make_unique<watch::ExecutionCache>(s.options_.cache_mb << 20);
    s.writes_ = std::make_unique<store::WriteStrand>(
        s.pool_.get_executor(), std::move(writer), std::move(checkpointer),
        store::WriteStrand::Limits{s.options_.max_queued_writes},
        [&hub = s.hub_, &cache = *s.cache_](std::vector<store::ExecutionChange>& changes) {
          cache.apply(changes);
          hub.publish(changes);
        });
    s.reads_ = std::make_unique<store::ReaderPool>(s.pool_.get_executor(), s.options_.db, readers);
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string("database: ") + e.what());
  }
  s.admission_ = std::make_unique<api::Admission>(s.options_.max_in_flight);
  s.backend_ = std::make_unique<api::Backend>(api::Backend{s.pool_.get_executor(), *s.writes_, *s.reads_, s.hub_, *s.cache_, *s.admission_,
                                                           s.options_.persist_fault ? &s.options_.persist_fault : nullptr});
  auto& b = *s.backend_;
  s.services_.push_back(std::make_unique<api::AgentCommands>(b));
  s.services_.push_back(std::make_unique<api::AgentQueries>(b));
  s.services_.push_back(std::make_unique<api::AgentInstanceCommands>(b));
  s.services_.push_back(std::make_unique<api::AgentInstanceQueries>(b));
  s.services_.push_back(std::make_unique<api::SessionCommands>(b));
  s.services_.push_back(std::make_unique<api::SessionQueries>(b));
  s.services_.push_back(std::make_unique<api::ExecutionCommands>(b));
  s.services_.push_back(std::make_unique<api::ExecutionQueries>(b));
  if (s.options_.bench_noop) s.services_.push_back(std::make_unique<api::NoopService>());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this a second aexd could silently share the port instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(s.options_.listen, grpc::InsecureServerCredentials(), &s.port_);
  for (auto& service : s.services_) builder.RegisterService(service.get());
  s.grpc_ = builder.BuildAndStart();
  if (!s.grpc_ || s.port_ == 0)
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "cannot listen on " + s.options_.listen +
                                                           " (address in use or invalid)");
  return server;
}

Server::~Server() { shutdown(); }

void Server::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (admission_) admission_->close();
  hub_.close();
  if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // Queued writes still commit: the pool runs until its work (including drains) is done.
  pool_.join();
}

}  // namespace aexd
