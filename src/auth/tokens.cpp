#include "auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aexd::auth {
namespace {

constexpr std::string_view kBlanks = " \t\r";
constexpr std::string_view kCommonNamePrefix = "cn:";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kBlanks) - first + 1);
}

/// The next blank-separated field of `line`, removed from it.
std::string_view next_field(std::string_view& line) {
  line = trim(line);
  const auto end = std::min(line.find_first_of(kBlanks), line.size());
  auto field = line.substr(0, end);
  line.remove_prefix(end);
  return field;
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(std::string_view hex, Digest& out) {
  if (hex.size() != 2 * out.size()) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return true;
}

}  // namespace

std::string_view name_of(Role role) {
  switch (role) {
    case Role::reader:
      return "reader";
    case Role::runner:
      return "runner";
    case Role::writer:
      return "writer";
  }
  return "?";
}

std::string_view name_of(api::Right right) {
  switch (right) {
    case api::Right::read:
      return "read";
    case api::Right::run:
      return "run";
    case api::Right::write:
      return "write";
  }
  return "?";
}

bool allows(Role role, api::Right right) {
  // Both enums are ordered from least to most: a role holds its own right and every lesser one.
  return static_cast<int>(right) <= static_cast<int>(role);
}

Digest sha256(std::string_view bytes) {
  Digest out;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

std::string to_hex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

bool same_digest(const Digest& a, const Digest& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

const Entry* find_common_name(const TokenTable& table, std::string_view common_name) {
  for (const auto& entry : table.common_names)
    if (entry.common_name == common_name) return &entry;
  return nullptr;
}

Result<TokenTable> parse_tokens(std::string_view text, std::string_view file) {
  TokenTable table;
  std::vector<size_t> token_lines, name_lines;  // the line of each entry, for duplicates
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const auto end = std::min(text.find('\n'), text.size());
    std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.empty() || line.front() == '#') continue;

    auto error = [&](const std::string& what) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          std::string(file) + ":" + std::to_string(number) + ": " + what);
    };
    Entry entry;
    entry.name = next_field(line);
    const auto role = next_field(line);
    const auto credential = trim(line);
    if (credential.empty()) return error("expected NAME ROLE SHA256HEX or NAME ROLE cn:COMMON_NAME");
    if (!valid_name(entry.name)) return error("name '" + entry.name + "' is not made of [A-Za-z0-9_.-]");
    if (role == "reader") {
      entry.role = Role::reader;
    } else if (role == "runner") {
      entry.role = Role::runner;
    } else if (role == "writer") {
      entry.role = Role::writer;
    } else {
      return error("role '" + std::string(role) + "' is not reader, runner or writer");
    }
    if (credential.starts_with(kCommonNamePrefix)) {
      // A CN may hold blanks: it is the rest of the line.
      entry.common_name = trim(credential.substr(kCommonNamePrefix.size()));
      if (entry.common_name.empty()) return error("cn: names no common name");
      if (const auto* same = find_common_name(table, entry.common_name))
        return error("cn:" + entry.common_name + " is already granted on line " +
                     std::to_string(name_lines[static_cast<size_t>(same - table.common_names.data())]));
      table.common_names.push_back(std::move(entry));
      name_lines.push_back(number);
      continue;
    }
    // The field is not echoed: someone may have pasted the token itself by mistake.
    if (!parse_hex(credential, entry.digest))
      return error("the third field is neither 64 hex characters (the token's SHA-256) nor cn:COMMON_NAME");
    if (const auto* same = find_token(table, entry.digest))
      return error("the same token hash as line " +
                   std::to_string(token_lines[static_cast<size_t>(same - table.tokens.data())]));
    table.tokens.push_back(std::move(entry));
    token_lines.push_back(number);
  }
  return table;
}

Result<TokenTable> read_tokens(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad())
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "cannot read tokens file " + path + ": " + std::strerror(errno));
  return parse_tokens(text.str(), path);
}

}  // namespace aexd::auth
