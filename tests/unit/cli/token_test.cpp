#include "cli/token.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace aexd::cli;

namespace {

bool lower_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

TEST_CASE("a new token is aexd_ and 64 lower-case hex digits, different every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const auto token = new_token();
    REQUIRE(token);
    CHECK(token->size() == 5 + 64);
    CHECK(token->starts_with("aexd_"));
    CHECK(lower_hex(token->substr(5)));
    seen.insert(*token);
  }
  CHECK(seen.size() == 20);
}

TEST_CASE("sha256_hex is the lower-case hex SHA-256") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("the tokens file line is NAME ROLE and the hash of the token as sent") {
  const std::string token = *new_token();
  const std::string line = tokens_file_line("ci-bot.1", "runner", token);
  CHECK(line == "ci-bot.1 runner " + sha256_hex(token));
  CHECK(line.substr(line.rfind(' ') + 1).size() == 64);
  CHECK(line.find(token) == std::string::npos);  // the file holds the hash only
}

TEST_CASE("token names and roles are checked") {
  CHECK(valid_token_name("ci-bot_1.prod"));
  CHECK_FALSE(valid_token_name(""));
  CHECK_FALSE(valid_token_name("ci bot"));
  CHECK_FALSE(valid_token_name("bot/1"));
  for (const char* role : {"reader", "runner", "writer"}) CHECK(valid_role(role));
  CHECK_FALSE(valid_role("admin"));
  CHECK_FALSE(valid_role("Reader"));
}
