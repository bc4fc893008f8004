// The tokens file: what a good file yields, every kind of bad line with its line number, roles,
// and that token lookups compare in constant time with every entry.
#include "auth/tokens.h"

#include <doctest/doctest.h>

#include <string>

#include "support/certificates.h"
#include "support/temp_dir.h"

using namespace aexd;
using namespace aexd::auth;

namespace {

const std::string kHashA(64, 'a');
const std::string kHashB = std::string(63, '0') + "1";

/// The message of the error parsing `text` gives, or "" if it parses.
std::string error_of(const std::string& text) {
  auto table = parse_tokens(text, "tokens.txt");
  return table.ok() ? "" : table.status().error_message();
}

}  // namespace

TEST_CASE("tokens file: names, roles, hashes and cn: lines, with comments and blank lines") {
  const std::string text =
      "# who may call aexd\n"
      "\n"
      "ci-bot writer " +
      kHashA +
      "\n"
      "  \t# indented comment\n"
      "dash.board_1 reader\t" +
      kHashB +
      "  \r\n"
      "runner-7 runner cn:runner 7.example\n"
      "last runner " +
      std::string(64, 'F');  // no final newline, upper-case hex
  auto table = parse_tokens(text, "tokens.txt");
  REQUIRE_MESSAGE(table.ok(), table.status().error_message());
  REQUIRE(table->tokens.size() == 3);
  CHECK(table->tokens[0].name == "ci-bot");
  CHECK(table->tokens[0].role == Role::writer);
  CHECK(to_hex(table->tokens[0].digest) == kHashA);
  CHECK(table->tokens[1].name == "dash.board_1");
  CHECK(table->tokens[1].role == Role::reader);
  CHECK(to_hex(table->tokens[1].digest) == kHashB);
  CHECK(to_hex(table->tokens[2].digest) == std::string(64, 'f'));
  REQUIRE(table->common_names.size() == 1);
  CHECK(table->common_names[0].name == "runner-7");
  CHECK(table->common_names[0].role == Role::runner);
  CHECK(table->common_names[0].common_name == "runner 7.example");
  CHECK(table->size() == 4);
}

TEST_CASE("tokens file: an empty file or one of comments only parses to an empty table") {
  for (const char* text : {"", "\n\n", "# nobody yet\n"}) {
    auto table = parse_tokens(text, "tokens.txt");
    REQUIRE(table.ok());
    CHECK(table->size() == 0);
  }
}

TEST_CASE("tokens file: the line `aexctl token new` prints for a token parses, and the token finds it") {
  const std::string token = "aexd_" + std::string(64, '7');
  const std::string line = "deploy writer " + to_hex(sha256(token));
  auto table = parse_tokens(line + "\n", "tokens.txt");
  REQUIRE(table.ok());
  const Entry* found = find_token(*table, sha256(token));
  REQUIRE(found != nullptr);
  CHECK(found->name == "deploy");
  CHECK(find_token(*table, sha256(token + "x")) == nullptr);
}

TEST_CASE("tokens file: SHA-256 is the standard one") {
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("tokens file: every kind of bad line is an error naming the file and the line") {
  const std::string good = "ok reader " + kHashA + "\n";
  struct Case {
    std::string line, says;
  };
  const Case cases[] = {
      {"lonely", "expected NAME ROLE SHA256HEX"},
      {"two fields", "expected NAME ROLE SHA256HEX"},
      {"bad/name reader " + kHashB, "name 'bad/name'"},
      {"ok admin " + kHashB, "role 'admin' is not reader, runner or writer"},
      {"ok Reader " + kHashB, "role 'Reader'"},
      {"ok reader " + kHashB.substr(1), "neither 64 hex characters"},
      {"ok reader " + kHashB + "0", "neither 64 hex characters"},
      {"ok reader " + std::string(63, 'a') + "g", "neither 64 hex characters"},
      {"ok reader " + kHashB + " trailing", "neither 64 hex characters"},
      {"ok reader cn:", "cn: names no common name"},
      {"again writer " + kHashA, "the same token hash as line 2"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto message = error_of("# header\n" + good + "\n" + c.line + "\n" + good);
    CHECK(message.starts_with("tokens.txt:4: "));
    CHECK(message.find(c.says) != std::string::npos);
  }
  CHECK(error_of("a reader cn:x\nb writer cn:x\n") == "tokens.txt:2: cn:x is already granted on line 1");
}

TEST_CASE("tokens file: a bad hash field is not echoed, since it may be a pasted token") {
  const std::string token = "aexd_" + std::string(64, 'c');
  const auto message = error_of("oops writer " + token + "\n");
  CHECK(message.starts_with("tokens.txt:1: "));
  CHECK(message.find(token) == std::string::npos);
}

TEST_CASE("tokens file: read from disk; a missing file is an error naming it") {
  test::TempDir dir;
  const auto path = test::write_file(dir.path() / "tokens", "a writer " + kHashA + "\nb x " + kHashB + "\n");
  auto bad = read_tokens(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().error_message().starts_with(path + ":2: role 'x'"));
  auto missing = read_tokens((dir.path() / "none").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().error_message().find((dir.path() / "none").string()) != std::string::npos);
}

TEST_CASE("roles: reader ⊂ runner ⊂ writer") {
  using api::Right;
  CHECK(allows(Role::reader, Right::read));
  CHECK_FALSE(allows(Role::reader, Right::run));
  CHECK_FALSE(allows(Role::reader, Right::write));
  CHECK(allows(Role::runner, Right::read));
  CHECK(allows(Role::runner, Right::run));
  CHECK_FALSE(allows(Role::runner, Right::write));
  CHECK(allows(Role::writer, Right::read));
  CHECK(allows(Role::writer, Right::run));
  CHECK(allows(Role::writer, Right::write));
}

TEST_CASE("digests: equal only when every byte is, wherever they differ") {
  Digest a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(i * 7);
  Digest b = a;
  CHECK(same_digest(a, b));
  b[0] ^= 1;
  CHECK_FALSE(same_digest(a, b));
  b = a;
  b[a.size() - 1] ^= 0x80;
  CHECK_FALSE(same_digest(a, b));
}

TEST_CASE("token lookup compares with every entry, also when the first one matches") {
  std::string text;
  for (int i = 0; i < 5; ++i)
    text += "t" + std::to_string(i) + " reader " + to_hex(sha256("token" + std::to_string(i))) + "\n";
  auto table = parse_tokens(text, "tokens.txt");
  REQUIRE(table.ok());
  for (int wanted : {0, 4, -1}) {
    CAPTURE(wanted);
    int compared = 0;
    auto counting = [&](const Digest& x, const Digest& y) {
      ++compared;
      return same_digest(x, y);
    };
    const Entry* found = find_token(*table, sha256("token" + std::to_string(wanted)), counting);
    CHECK(compared == 5);
    if (wanted < 0)
      CHECK(found == nullptr);
    else
      CHECK((found && found->name == "t" + std::to_string(wanted)));
  }
}

TEST_CASE("cn: lookups match the whole common name only") {
  auto table = parse_tokens("r runner cn:runner-7\n", "tokens.txt");
  REQUIRE(table.ok());
  REQUIRE(find_common_name(*table, "runner-7") != nullptr);
  CHECK(find_common_name(*table, "runner-7")->role == Role::runner);
  CHECK(find_common_name(*table, "runner-") == nullptr);
  CHECK(find_common_name(*table, "runner-77") == nullptr);
}
