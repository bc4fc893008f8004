// The SQLite floor of aexbench: durable 1 KiB inserts per second into a temporary database with
// aexd's pragmas, one row per transaction and batched, so server figures can be read against it.
#pragma once

#include <cstdint>
#include <string>

namespace aexd::bench {

struct FloorOptions {
  std::string sync = "normal";  // full | normal | off, as aexd --sync
  uint64_t rows = 20000;        // per figure
  uint64_t batch = 256;         // rows per transaction for the batched figure
  size_t row_bytes = 1024;
  std::string dir;              // where the temporary database goes (empty: the system temp dir)
};

struct FloorResult {
  std::string path;
  double single_rows_per_second = 0;
  double batched_rows_per_second = 0;
};

/// Throws std::runtime_error on any SQLite failure.
FloorResult run_sqlite_floor(const FloorOptions& options);

}  // namespace aexd::bench
