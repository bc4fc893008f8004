// The tokens file (README "Auth and TLS"): who may call aexd, with which role. Parsing and lookups
// are pure functions of their arguments: safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/calls.h"
#include "domain/result.h"

namespace aexd::auth {

/// reader: get, lists, subscribe; runner: reader + updateStatus, claim, release; writer: everything.
enum class Role { reader, runner, writer };

std::string_view name_of(Role role);
std::string_view name_of(api::Right right);
/// Whether `role` includes `right` (read ⊂ run ⊂ write).
bool allows(Role role, api::Right right);

using Digest = std::array<unsigned char, 32>;  // SHA-256
Digest sha256(std::string_view bytes);
/// Lower-case hex, as the tokens file holds digests.
std::string to_hex(const Digest& digest);

/// One line of the file: a token's digest, or (for mTLS) a client certificate's subject CN.
struct Entry {
  std::string name;
  Role role;
  Digest digest{};          // when common_name is empty
  std::string common_name;  // `cn:COMMON_NAME`
};

struct TokenTable {
  std::vector<Entry> tokens;        // by digest
  std::vector<Entry> common_names;  // by certificate CN
  size_t size() const { return tokens.size() + common_names.size(); }
};

/// Parses the text of the tokens file called `file`; an error names the file and the line.
Result<TokenTable> parse_tokens(std::string_view text, std::string_view file);
/// Reads and parses the file at `path`.
Result<TokenTable> read_tokens(const std::string& path);

/// Equality of two digests in time independent of where they differ (CRYPTO_memcmp).
bool same_digest(const Digest& a, const Digest& b);

/// The entry whose digest is `digest`, or null. Compares with every entry whatever it finds, so
/// the time taken does not tell how far into the table a token is; `same` is the comparison (a
/// parameter so tests can see every entry is examined).
template <class Same = bool (*)(const Digest&, const Digest&)>
const Entry* find_token(const TokenTable& table, const Digest& digest, Same same = same_digest) {
  const Entry* found = nullptr;
  for (const auto& entry : table.tokens) {
    const bool match = same(entry.digest, digest);
    found = match ? &entry : found;
  }
  return found;
}

/// The entry for a verified client certificate's subject CN, or null (a CN is not a secret).
const Entry* find_common_name(const TokenTable& table, std::string_view common_name);

}  // namespace aexd::auth
