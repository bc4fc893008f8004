// Fuzz target: slugs derived from arbitrary names, id recognition, and ids the generator writes for
// an arbitrary sequence of clock readings (including a clock that steps back).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checks.h"
#include "domain/ids.h"
#include "domain/slug.h"

namespace {

constexpr std::string_view kBase32 = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::string_view kPrefixes[] = {aexd::kAgentPrefix, aexd::kInstancePrefix, aexd::kSessionPrefix,
                                          aexd::kExecutionPrefix};

bool is_slug_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

void check_slug(std::string_view name) {
  const std::string slug = aexd::slugify(name);
  for (char c : slug) FUZZ_CHECK(is_slug_char(c));
  FUZZ_CHECK(slug.empty() || (slug.front() != '-' && slug.back() != '-'));
  FUZZ_CHECK(slug.find("--") == std::string::npos);
  FUZZ_CHECK(aexd::slugify(slug) == slug);
  // Every ASCII letter and digit of the name survives, lower-cased and in order; nothing else does.
  std::string kept, letters;
  for (char c : name)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) kept += lower(c);
  for (char c : slug)
    if (c != '-') letters += c;
  FUZZ_CHECK(letters == kept);
}

void check_id_recognition(std::string_view text) {
  const bool ulid = aexd::is_ulid(text);
  bool expected = text.size() == 26 && text[0] >= '0' && text[0] <= '7';
  for (char c : text) expected = expected && kBase32.find(c) != std::string_view::npos;
  FUZZ_CHECK(ulid == expected);
  for (std::string_view prefix : kPrefixes) {
    const bool id = text.size() > prefix.size() && text.substr(0, prefix.size()) == prefix &&
                    text[prefix.size()] == '-' && aexd::is_ulid(text.substr(prefix.size() + 1));
    FUZZ_CHECK(aexd::is_id(text, prefix) == id);
  }
}

uint64_t decode_base32(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) value = value << 5 | kBase32.find(c);
  return value;
}

// Each 6 bytes are one clock reading in milliseconds (48 bits, the ULID's time field).
void check_generated_ids(const uint8_t* data, size_t size) {
  aexd::UlidGenerator generator;
  std::string previous;
  uint64_t latest_ms = 0;
  for (; size >= 6; data += 6, size -= 6) {
    uint64_t now_ms = 0;
    for (int i = 0; i < 6; ++i) now_ms = now_ms << 8 | data[i];
    latest_ms = std::max(latest_ms, now_ms);
    const std::string ulid = generator.next_at(now_ms);
    FUZZ_CHECK(aexd::is_ulid(ulid));
    FUZZ_CHECK(ulid > previous);  // id order is creation order, even when the clock steps back
    FUZZ_CHECK(decode_base32(ulid.substr(0, 10)) == latest_ms);  // 2 zero bits, then the 48-bit time
    for (std::string_view prefix : kPrefixes) FUZZ_CHECK(aexd::is_id(std::string(prefix) + "-" + ulid, prefix));
    previous = ulid;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_slug(text);
  check_id_recognition(text);
  check_generated_ids(data, size);
  return 0;
}
