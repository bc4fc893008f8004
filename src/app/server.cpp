#include "app/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <sys/resource.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>
#include <utility>

#include "api/noop_service.h"
#include "api/reflection_v1.h"
#include "api/services.h"
#include "auth/tls.h"
#include "grpc/health/v1/health.pb.h"
#include "store/postgres/postgres_storage.h"
#include "store/sqlite/sqlite_storage.h"

namespace aexd {
namespace {

int readers_of(const Options& options) {
  return options.readers > 0 ? options.readers : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
}

/// The soft limit on open descriptors (main raises it to the hard one first).
int descriptor_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, INT_MAX));
}

/// Descriptors no connection may take: SQLite's, the metrics server's, the log's and gRPC's own.
int descriptor_reserve(int limit) { return std::max(32, limit / 8); }

int milliseconds_or_never(std::chrono::milliseconds d) {
  return d.count() == 0 ? INT_MAX : static_cast<int>(std::min<int64_t>(d.count(), INT_MAX));
}

}  // namespace

Result<std::unique_ptr<store::Storage>> open_storage(const Options& options, boost::asio::any_io_executor executor,
                                                     model::CommitListener& listener, store::CommitStats* stats) {
  const store::WriteQueue::Limits limits{.max_queued = options.max_queued_writes,
                                         .queue_budget = options.write_queue_budget};
  if (store::postgres::is_postgres_uri(options.db))
    return store::postgres::PostgresStorage::open({options.db, readers_of(options), limits, stats}, std::move(executor),
                                                  listener);
  store::sqlite::Settings settings{options.db, options.sync, readers_of(options), limits, stats};
  return store::sqlite::SqliteStorage::open(settings, std::move(executor), listener);
}

// One pool runs reads, the write strand and the subscribe streams' strands.
Server::Server(Options options)
    : options_(std::move(options)),
      pool_(static_cast<size_t>(readers_of(options_) + 1)),
      cache_(options_.cache_mb << 20),
      dispatcher_({options_.lease, options_.max_attempts, options_.stall_timeout, options_.dispatch_window},
                  pool_.get_executor()),
      retention_({options_.retain_terminal}, pool_.get_executor()),
      guard_(descriptor_limit(), descriptor_reserve(descriptor_limit()),
             [this] { boost::asio::post(pool_, [this] { connections_changed(); }); }),
      admission_(options_.max_in_flight) {
  if (options_.metrics_listen.empty()) return;
  // Read when scraped, never on the hot path; serve() starts scrapes only once all of this exists.
  auto count = [this](size_t dispatch::Dispatcher::Counts::*field) {
    return [this, field] { return static_cast<double>(dispatcher_.counts().*field); };
  };
  const std::string db = options_.db;
  metrics_ = std::make_unique<obs::Metrics>(std::vector<obs::Reading>{
      {"aexd_dispatch_claim_streams", "Runners' claim streams open", count(&dispatch::Dispatcher::Counts::streams)},
      {"aexd_dispatch_held_leases", "Executions held by a runner's lease", count(&dispatch::Dispatcher::Counts::held)},
      {"aexd_dispatch_queued_executions", "PENDING executions no runner holds, queued in memory for the next claim",
       count(&dispatch::Dispatcher::Counts::queued)},
      {"aexd_store_queued_writes", "Writes waiting for their batch transaction",
       [this] { return static_cast<double>(storage_->queued_writes()); }},
      {"aexd_watched_executions", "Executions with at least one open subscribe stream",
       [this] { return static_cast<double>(hub_.channels()); }},
      {"aexd_refused_connections_total", "Connections closed at once because file descriptors ran short",
       [this] { return static_cast<double>(guard_.refused()); }, true},
      {"aexd_db_size_bytes", "Size of the database file", [db] { return obs::file_bytes(db); }},
      {"aexd_db_wal_size_bytes", "Size of the database's write-ahead log",
       [db] { return obs::file_bytes(db + "-wal"); }},
  });
}

Result<std::unique_ptr<Server>> Server::start(Options options, const OpenStorage& open) {
  std::unique_ptr<Server> server(new Server(std::move(options)));
  auto& s = *server;
  if (!s.options_.auth_tokens.empty()) {
    auto tokens = auth::TokenAuthorizer::load(s.options_.auth_tokens);
    if (!tokens.ok()) return tokens.status();
    s.tokens_ = std::move(*tokens);
  }
  auto credentials = auth::server_credentials({s.options_.tls_cert, s.options_.tls_key, s.options_.tls_client_ca});
  if (!credentials.ok()) return credentials.status();
  if (s.metrics_) s.batch_stats_.metrics = &s.metrics_->commits();
  auto storage = open(s.options_, s.pool_.get_executor(), s.fanout_, &s.batch_stats_);
  if (!storage.ok()) return storage.status();
  s.storage_ = std::move(*storage);
  s.leases_ = std::make_unique<pipeline::StoredLeases>(*s.storage_);
  if (auto started = s.dispatcher_.start(*s.leases_); !started.ok()) return started;
  s.retained_ = std::make_unique<pipeline::StoredRetention>(*s.storage_);
  s.retention_.start(*s.retained_);
  s.executions_ = std::make_unique<api::ReadThrough>(*s.storage_, s.cache_);
  const api::Authorizer* authorizer = &s.open_calls_;
  if (s.tokens_) authorizer = s.tokens_.get();
  api::CallObserver* observer = &s.open_calls_;
  const bool log_calls = s.options_.log_level <= obs::LogLevel::debug;
  if (s.metrics_ && log_calls) {
    s.metrics_and_log_ = std::make_unique<obs::CallFanout>(s.metrics_->calls(), s.call_log_);
    observer = s.metrics_and_log_.get();
  } else if (s.metrics_) {
    observer = &s.metrics_->calls();
  } else if (log_calls) {
    observer = &s.call_log_;
  }
  s.backend_ = std::make_unique<api::Backend>(api::Backend{s.pool_.get_executor(), *s.storage_, *s.executions_, s.hub_,
                                                           s.admission_, s.dispatcher_, s.options_.idempotency_ttl,
                                                           *authorizer, *observer});
  auto& b = *s.backend_;
  auto add = [&s](std::unique_ptr<grpc::Service> service, const char* name) {
    s.services_.push_back(std::move(service));
    s.service_names_.push_back(name);
  };
  add(std::make_unique<api::AgentCommands>(b), api::agentv1::AgentCommandController::service_full_name());
  add(std::make_unique<api::AgentQueries>(b), api::agentv1::AgentQueryController::service_full_name());
  add(std::make_unique<api::AgentInstanceCommands>(b),
      api::instancev1::AgentInstanceCommandController::service_full_name());
  add(std::make_unique<api::AgentInstanceQueries>(b),
      api::instancev1::AgentInstanceQueryController::service_full_name());
  add(std::make_unique<api::SessionCommands>(b), api::sessionv1::SessionCommandController::service_full_name());
  add(std::make_unique<api::SessionQueries>(b), api::sessionv1::SessionQueryController::service_full_name());
  add(std::make_unique<api::ExecutionCommands>(b), exv1::AgentExecutionCommandController::service_full_name());
  add(std::make_unique<api::ExecutionQueries>(b), exv1::AgentExecutionQueryController::service_full_name());
  add(std::make_unique<api::ExecutionDispatch>(b), aexd::v1::ExecutionDispatch::service_full_name());
  if (s.options_.bench_noop) add(std::make_unique<api::NoopService>(), aexd::bench::v1::Noop::service_full_name());

  // Health and reflection are gRPC's own services: they never ask the authorizer, so probes and
  // grpcurl work without a token.
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service is not built from a generated .proto: referencing ours links its
  // descriptor into the generated pool, where both reflection services look symbols up.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetOption(api::reflection_v1());
  // A larger request is gRPC's RESOURCE_EXHAUSTED "Received message larger than max (N vs. limit)".
  builder.SetMaxReceiveMessageSize(s.options_.max_message_mb << 20);
  // Replies and subscribe messages carry what requests stored: an execution is its create plus its
  // status push, so it may outgrow one request. Its size is bounded by the receive limit already.
  builder.SetMaxSendMessageSize(-1);
  // Without this a second aexd could silently share the port instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A connection without calls is closed (its client reconnects when it needs to); one with calls
  // is pinged, so that a peer that is gone is noticed; a client pinging too often gets GOAWAY. No
  // maximum age: a subscribe stream lasts as long as its execution, a single process has no
  // balancer to spread reconnections over, and closing idle connections already reclaims
  // abandoned ones.
  const Options& o = s.options_;
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, milliseconds_or_never(o.idle_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, milliseconds_or_never(o.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, milliseconds_or_never(o.keepalive_timeout));
  // By default gRPC sends no more than two pings without data: a quiet subscribe stream's peer
  // would be checked twice, then never again.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             milliseconds_or_never(o.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.SetOption(s.guard_.option());
  builder.AddListeningPort(s.options_.listen, *credentials, &s.port_);
  for (auto& service : s.services_) builder.RegisterService(service.get());
  s.grpc_ = builder.BuildAndStart();
  if (!s.grpc_ || s.port_ == 0)
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "cannot listen on " + s.options_.listen + " (address in use or invalid)");
  // Start-up (database, migrations, the dispatcher's read of live executions) is done before the
  // port is bound, so nothing answers until the server is ready: the health service's "" starts out
  // SERVING, and each of our services gets SERVING here. shutdown() turns them all NOT_SERVING first.
  {
    std::lock_guard lock(s.health_mutex_);
    s.health_live_ = true;
  }
  s.connections_changed();
  if (s.metrics_)
    if (auto served = s.metrics_->serve(s.options_.metrics_listen); !served.ok()) return served;
  return server;
}

void Server::set_serving(bool serving) {
  auto* health = grpc_->GetHealthCheckService();
  if (!health) return;
  health->SetServingStatus("", serving);
  for (const auto& name : service_names_) health->SetServingStatus(name, serving);
}

void Server::connections_changed() {
  using obs::LogLevel;
  std::lock_guard lock(health_mutex_);
  if (!health_live_) return;
  const bool accepting = guard_.accepting();
  set_serving(accepting);
  if (accepting) {
    recheck_.cancel();
    if (std::exchange(short_of_descriptors_, false))
      obs::log(LogLevel::info, "descriptors free again: accepting connections",
               {{"refused_total", std::to_string(guard_.refused()), true}});
    return;
  }
  short_of_descriptors_ = true;
  if (const auto now = std::chrono::steady_clock::now(); now - last_shortage_log_ >= std::chrono::seconds(10)) {
    last_shortage_log_ = now;
    obs::log(LogLevel::warn, "descriptors short: refusing new connections, health NOT_SERVING",
             {{"limit", std::to_string(descriptor_limit()), true},
              {"refused_total", std::to_string(guard_.refused()), true}});
  }
  // A client that finds health NOT_SERVING may never connect to prove there is room again.
  recheck_.expires_after(std::chrono::seconds(1));
  recheck_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !guard_.recheck()) connections_changed();
  });
}

Server::~Server() { shutdown(); }

Result<size_t> Server::reload() {
  if (!tokens_) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "auth is off (no --auth-tokens)");
  return tokens_->reload();
}

void Server::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(health_mutex_);
    health_live_ = false;
    recheck_.cancel();
    if (grpc_) set_serving(false);  // first, so that balancers and probes stop sending work here
  }
  guard_.stop();
  if (metrics_) metrics_->stop();  // scrapes read what the rest of shutdown takes down
  const auto grace_ends = std::chrono::system_clock::now() + options_.shutdown_grace;
  admission_.close();      // a new unary call: UNAVAILABLE
  dispatcher_.shutdown();  // claim streams end UNAVAILABLE
  retention_.shutdown();
  hub_.close();  // subscribe streams end UNAVAILABLE
  // Until the unary calls in flight are done, a new call still reaches admission and gets
  // UNAVAILABLE; once gRPC's own Shutdown has begun, it would be CANCELLED.
  admission_.wait_idle(std::chrono::steady_clock::now() + options_.shutdown_grace);
  // No new calls (GOAWAY); calls in flight get what is left of the grace, then whatever still runs
  // (a health Watch, a call past the grace) is cancelled. Either way every call has finished when
  // Shutdown returns: a unary call's write finishes it once committed.
  if (grpc_) grpc_->Shutdown(grace_ends);
  // Queued writes still commit: the pool runs until its work (including drains) is done; a trim
  // waiting for quiet would only hold it up.
  quiet_trim_.stop();
  if (storage_) storage_->stop();
  pool_.join();
  // Nothing runs any more: close the database.
  backend_.reset();
  executions_.reset();
  leases_.reset();
  storage_.reset();
}

}  // namespace aexd
