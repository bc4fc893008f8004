#include "cli/token.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <cerrno>

namespace aexd::cli {

namespace {

std::string hex(const unsigned char* bytes, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

std::optional<std::string> new_token() {
  std::array<unsigned char, 32> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    filled += static_cast<size_t>(n);
  }
  return "aexd_" + hex(bytes.data(), bytes.size());
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

bool valid_token_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_role(std::string_view role) { return role == "reader" || role == "runner" || role == "writer"; }

std::string tokens_file_line(std::string_view name, std::string_view role, std::string_view token) {
  return std::string(name) + " " + std::string(role) + " " + sha256_hex(token);
}

}  // namespace aexd::cli
