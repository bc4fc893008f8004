// Resource ids: "<prefix>-<ulid>", where the ULID is lowercase Crockford base32 and strictly
// increasing across the process, so id order is creation order (keyset pagination relies on it).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace aexd {

inline constexpr std::string_view kAgentPrefix = "agt";
inline constexpr std::string_view kInstancePrefix = "ain";
inline constexpr std::string_view kSessionPrefix = "ses";
inline constexpr std::string_view kExecutionPrefix = "aex";

/// Thread-safe monotonic ULID source: within one millisecond (or if the clock steps back)
/// the 80-bit random part is incremented instead of redrawn.
class UlidGenerator {
 public:
  std::string next();
  /// Deterministic core, exposed for tests: `now_ms` is the wall clock in milliseconds.
  std::string next_at(uint64_t now_ms);

 private:
  std::mutex mutex_;
  uint64_t last_ms_ = 0;
  uint64_t rand_hi_ = 0;  // top 16 bits of the 80-bit random part
  uint64_t rand_lo_ = 0;  // low 64 bits
};

/// A new id from the process-wide generator, e.g. new_id("aex") -> "aex-01j…".
std::string new_id(std::string_view prefix);

/// True for a 26-character lowercase Crockford base32 ULID whose first character is 0-7.
bool is_ulid(std::string_view text);

/// True for "<prefix>-<ulid>".
bool is_id(std::string_view text, std::string_view prefix);

}  // namespace aexd
