#include "domain/ids.h"

#include <chrono>
#include <random>

namespace aexd {
namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

bool is_base32(char c) {
  for (const char* p = kAlphabet; *p != '\0'; ++p)
    if (*p == c) return true;
  return false;
}

}  // namespace

std::string UlidGenerator::next() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return next_at(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

std::string UlidGenerator::next_at(uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (now_ms > last_ms_) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    last_ms_ = now_ms;
    rand_hi_ = rng() & 0x7fff;  // a clear top bit leaves room to increment within one ms
    rand_lo_ = rng();
  } else if (++rand_lo_ == 0) {
    ++rand_hi_;  // 2^79 ids in one millisecond would be needed to overflow this
  }
  // 128 bits = 48-bit time + 80-bit random, written as 26 base32 digits (the first holds 3 bits).
  std::string out(26, '0');
  uint64_t hi = (last_ms_ << 16) | rand_hi_;  // bits 127..64
  uint64_t lo = rand_lo_;                     // bits 63..0
  for (int i = 25; i >= 0; --i) {
    out[i] = kAlphabet[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return out;
}

std::string new_id(std::string_view prefix) {
  static UlidGenerator generator;
  std::string id(prefix);
  id += '-';
  id += generator.next();
  return id;
}

bool is_ulid(std::string_view text) {
  if (text.size() != 26 || text[0] > '7') return false;
  for (char c : text)
    if (!is_base32(c)) return false;
  return true;
}

bool is_id(std::string_view text, std::string_view prefix) {
  return text.size() == prefix.size() + 27 && text.substr(0, prefix.size()) == prefix && text[prefix.size()] == '-' &&
         is_ulid(text.substr(prefix.size() + 1));
}

}  // namespace aexd
