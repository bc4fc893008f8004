// `aexctl token new`: a fresh bearer token and the line that grants it in aexd's tokens file
// (`NAME ROLE SHA256HEX`, the hash of the token exactly as sent after `Bearer `). Any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aexd::cli {

/// `aexd_` and 64 lower-case hex digits of 32 bytes from getrandom(2); nullopt if it fails.
std::optional<std::string> new_token();

/// Lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

/// Names are [A-Za-z0-9_.-]+; roles are reader, runner and writer.
bool valid_token_name(std::string_view name);
bool valid_role(std::string_view role);

/// `NAME ROLE SHA256HEX` for the tokens file.
std::string tokens_file_line(std::string_view name, std::string_view role, std::string_view token);

}  // namespace aexd::cli
