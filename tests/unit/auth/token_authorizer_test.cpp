// What TokenAuthorizer reads from a call before any lookup: the bearer token of the header, and
// reloads that keep the table in use when the file is bad. (Calls themselves: e2e/auth_test.cpp.)
#include "auth/token_authorizer.h"

#include <doctest/doctest.h>

#include "support/certificates.h"
#include "support/temp_dir.h"

using namespace aexd;
using namespace aexd::auth;

TEST_CASE("bearer header: the scheme in any case, one or more spaces, then the token") {
  CHECK(bearer_token("Bearer aexd_123") == "aexd_123");
  CHECK(bearer_token("bearer aexd_123") == "aexd_123");
  CHECK(bearer_token("BEARER aexd_123") == "aexd_123");
  CHECK(bearer_token("Bearer   aexd_123") == "aexd_123");
}

TEST_CASE("bearer header: anything else is malformed") {
  for (const char* header : {"", "Bearer", "Bearer ", "Bearer    ", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearerx abc",
                             "aexd_123", "Token aexd_123"}) {
    CAPTURE(header);
    CHECK(bearer_token(header).empty());
  }
}

TEST_CASE("reload: a good file replaces the table, a bad one keeps it and says why") {
  test::TempDir dir;
  const auto path = dir.path() / "tokens";
  test::write_file(path, "a writer " + to_hex(sha256("one")) + "\n");
  auto authorizer = TokenAuthorizer::load(path.string());
  REQUIRE(authorizer.ok());

  test::write_file(path, "a writer " + to_hex(sha256("one")) + "\nb reader cn:b\n");
  auto reloaded = (*authorizer)->reload();
  REQUIRE(reloaded.ok());
  CHECK(*reloaded == 2);

  test::write_file(path, "a writer\n");
  auto failed = (*authorizer)->reload();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().error_message().starts_with(path.string() + ":1: "));
}

TEST_CASE("load: a bad file is an error naming it and its line") {
  test::TempDir dir;
  const auto path = test::write_file(dir.path() / "tokens", "# ok\nx superuser " + std::string(64, '0') + "\n");
  auto authorizer = TokenAuthorizer::load(path);
  REQUIRE_FALSE(authorizer.ok());
  CHECK(authorizer.status().error_message().starts_with(path + ":2: role 'superuser'"));
}
