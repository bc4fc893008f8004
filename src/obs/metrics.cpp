#include "obs/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <exception>
#include <fstream>

namespace aexd::obs {

double file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
}

std::vector<Reading> process_readings() {
  static const double started =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {
      {"process_resident_memory_bytes", "Resident memory size in bytes",
       [] {
         std::ifstream statm("/proc/self/statm");
         long pages = 0, resident = 0;
         statm >> pages >> resident;
         return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
       }},
      {"process_cpu_seconds_total", "User and system CPU time spent in seconds",
       [] {
         rusage usage{};
         getrusage(RUSAGE_SELF, &usage);
         auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
         return seconds(usage.ru_utime) + seconds(usage.ru_stime);
       },
       true},
      {"process_open_fds", "Open file descriptors",
       [] {
         double n = 0;
         if (DIR* dir = opendir("/proc/self/fd")) {
           while (readdir(dir)) ++n;
           closedir(dir);
           n -= 3;  // ".", ".." and the directory's own descriptor
         }
         return n;
       }},
      // Approximately: when the first Metrics was made, which is at start-up.
      {"process_start_time_seconds", "Start time of the process since the Unix epoch in seconds",
       [] { return started; }},
  };
}

/// Reads every Reading when scraped.
class Metrics::Readings final : public prometheus::Collectable {
 public:
  explicit Readings(std::vector<Reading> readings) : readings_(std::move(readings)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    families.reserve(readings_.size());
    for (const auto& r : readings_) {
      prometheus::MetricFamily family{r.name,
                                      r.help,
                                      r.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge,
                                      {prometheus::ClientMetric{}}};
      (r.counter ? family.metric[0].counter.value : family.metric[0].gauge.value) = r.read();
      families.push_back(std::move(family));
    }
    return families;
  }

 private:
  const std::vector<Reading> readings_;
};

namespace {

const prometheus::Histogram::BucketBoundaries kBatchSizes = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

}  // namespace

Metrics::Commits::Commits(prometheus::Registry& registry)
    : size_(prometheus::BuildHistogram()
                .Name("aexd_commit_batch_size")
                .Help("Write jobs committed together in one transaction (group commit)")
                .Register(registry)
                .Add({}, kBatchSizes)),
      duration_(prometheus::BuildHistogram()
                    .Name("aexd_commit_duration_seconds")
                    .Help("Time of one batch transaction, from BEGIN to durable COMMIT")
                    .Register(registry)
                    .Add({}, latency_buckets())) {}

void Metrics::Commits::batch_committed(size_t jobs, std::chrono::steady_clock::duration elapsed) {
  try {
    size_.Observe(static_cast<double>(jobs));
    duration_.Observe(std::chrono::duration<double>(elapsed).count());
  } catch (...) {  // only a failing mutex could throw; the writer must carry on regardless
  }
}

Metrics::Metrics(std::vector<Reading> readings) {
  auto all = process_readings();
  all.insert(all.end(), std::make_move_iterator(readings.begin()), std::make_move_iterator(readings.end()));
  readings_ = std::make_shared<Readings>(std::move(all));
}

Metrics::~Metrics() { stop(); }

grpc::Status Metrics::serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "cannot serve metrics on " + listen + ": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(readings_);
  const auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return grpc::Status::OK;
}

void Metrics::stop() {
  exposer_.reset();  // joins the exporter's threads: no scrape is running after this
  port_ = 0;
}

}  // namespace aexd::obs
