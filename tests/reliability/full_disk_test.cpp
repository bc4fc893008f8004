// The real aexd binary on a small tmpfs the test fills: writes past the last free byte are
// RESOURCE_EXHAUSTED naming a full disk (not UNAVAILABLE, which invites a retry loop), reads go on,
// writes succeed again once space is freed, and every acknowledged write survives a restart.
#include <sys/statvfs.h>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/requests.h"
#include "support/sqlite_files.h"
#include "support/tmpfs_mount.h"

using namespace aexd;
using namespace aexd::test;
namespace fs = std::filesystem;

namespace {

constexpr int kWriters = 4;
constexpr size_t kMessageBytes = 16 * 1024;
constexpr uint64_t kLeftFree = 3 << 20;  // what the ballast leaves for the writers to fill

uint64_t free_bytes(const fs::path& dir) {
  struct statvfs fs_stats {};
  REQUIRE(statvfs(dir.c_str(), &fs_stats) == 0);
  return static_cast<uint64_t>(fs_stats.f_bavail) * fs_stats.f_frsize;
}

/// A file that takes all but `leave` of the free space of `dir`'s filesystem.
void write_ballast(const fs::path& file, uint64_t leave) {
  const uint64_t size = free_bytes(file.parent_path()) - leave;
  std::ofstream out(file, std::ios::binary);
  const std::string block(1 << 20, 'b');
  for (uint64_t written = 0; written < size; written += block.size())
    out.write(block.data(), static_cast<std::streamsize>(std::min<uint64_t>(block.size(), size - written)));
  REQUIRE(out.flush().good());
}

/// Every outcome of the writers: acknowledged ids, and each refusal by code.
struct Outcomes {
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::map<grpc::StatusCode, std::string> refused;  // a message of each code seen
  std::map<grpc::StatusCode, int> refusals;
};

/// Writers create executions until each has been refused RESOURCE_EXHAUSTED (or `per_writer` writes).
void write_until_exhausted(const Client& api, const std::string& agent_id, Outcomes& out, int per_writer) {
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&] {
      for (int i = 0; i < per_writer; ++i) {
        auto created = api.create(make_execution_for_agent(agent_id, std::string(kMessageBytes, 'm')));
        std::lock_guard lock(out.mutex);
        if (created.ok()) {
          out.acknowledged.push_back(created->metadata().id());
          continue;
        }
        out.refused[created.status().error_code()] = created.status().error_message();
        ++out.refusals[created.status().error_code()];
        if (created.status().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) return;
      }
    });
  for (auto& writer : writers) writer.join();
}

}  // namespace

TEST_CASE(
    "a full disk is RESOURCE_EXHAUSTED naming it, reads go on, writes resume once space is freed, and every "
    "acknowledged write survives a restart") {
  TmpfsMount mount("32m");
  const fs::path db = mount.path() / "aexd.db";
  const fs::path ballast = mount.path() / "ballast";
  Outcomes outcomes;
  std::string agent_id;
  {
    AexdProcess aexd(db.string());
    const Client api(aexd.new_channel());
    agent_id = must(api.create(make_agent("filler"))).metadata().id();
    write_ballast(ballast, kLeftFree);

    const auto began = std::chrono::steady_clock::now();
    write_until_exhausted(api, agent_id, outcomes, 10000);
    const auto filled_in = std::chrono::steady_clock::now() - began;
    const size_t before_freeing = outcomes.acknowledged.size();
    MESSAGE("disk full after " << before_freeing << " acknowledged writes of " << kMessageBytes / 1024 << " KiB in "
                               << std::chrono::duration_cast<std::chrono::milliseconds>(filled_in).count() << " ms");
    CAPTURE(outcomes.refused[grpc::StatusCode::UNAVAILABLE]);
    CAPTURE(outcomes.refused[grpc::StatusCode::INTERNAL]);
    REQUIRE(outcomes.refusals[grpc::StatusCode::RESOURCE_EXHAUSTED] > 0);
    CHECK(outcomes.refusals.size() == 1);  // nothing but RESOURCE_EXHAUSTED
    CHECK(outcomes.refused[grpc::StatusCode::RESOURCE_EXHAUSTED].find("disk full") != std::string::npos);
    CHECK(before_freeing > 0);

    // Full, yet every read is served.
    CHECK(api.get<Execution>(outcomes.acknowledged.front()).ok());
    CHECK(api.get<Agent>(agent_id).ok());
    CHECK(api.list_executions().ok());

    fs::remove(ballast);
    for (int i = 0; i < 20; ++i) {
      auto created = must(api.create(make_execution_for_agent(agent_id, std::string(kMessageBytes, 'm'))));
      outcomes.acknowledged.push_back(created.metadata().id());
    }
    REQUIRE(aexd.stop().success());
  }

  AexdProcess restarted(db.string());
  const Client api(restarted.new_channel());
  int missing = 0;
  for (const auto& id : outcomes.acknowledged) missing += !api.get<Execution>(id).ok();
  CHECK(missing == 0);
  REQUIRE(restarted.stop().success());
  CHECK(query_text(db, "PRAGMA integrity_check") == "ok");
}
