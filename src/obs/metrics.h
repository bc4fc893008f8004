// Metrics: aexd's Prometheus registry and its /metrics endpoint. It owns the RPC series (CallMetrics),
// the commit histograms (a store::CommitStats) and values read only when scraped (Reading). Made and
// started/stopped from one thread; calls(), commits() and scrapes are thread-safe.
#pragma once

#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "obs/call_metrics.h"
#include "store/storage.h"

namespace aexd::obs {

/// A value read at scrape time, so that the hot path never updates it: a gauge, or a counter.
struct Reading {
  std::string name, help;
  std::function<double()> read;  // called on the exporter's threads; must be thread-safe and quick
  bool counter = false;
};

/// The size of a file in bytes, 0 when it does not exist.
double file_bytes(const std::string& path);
/// process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, process_start_time_seconds.
std::vector<Reading> process_readings();

class Metrics {
 public:
  explicit Metrics(std::vector<Reading> readings);
  ~Metrics();

  /// Starts serving /metrics on `listen` ("host:port"; port 0 picks one); UNAVAILABLE saying why
  /// when it cannot bind.
  grpc::Status serve(const std::string& listen);
  /// The port bound by serve(), 0 when not serving.
  int port() const { return port_; }
  /// Stops serving; after it no Reading is called again.
  void stop();

  api::CallObserver& calls() { return calls_; }
  store::CommitStats& commits() { return commits_; }
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  class Commits final : public store::CommitStats {
   public:
    explicit Commits(prometheus::Registry& registry);
    void batch_committed(size_t jobs, std::chrono::steady_clock::duration elapsed) override;

   private:
    prometheus::Histogram& size_;
    prometheus::Histogram& duration_;
  };
  class Readings;

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  CallMetrics calls_{*registry_};
  Commits commits_{*registry_};
  std::shared_ptr<Readings> readings_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace aexd::obs
