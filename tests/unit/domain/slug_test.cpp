#include "domain/slug.h"

#include <doctest/doctest.h>

using aexd::slugify;

TEST_CASE("slugify lower-cases ASCII letters") { CHECK(slugify("CodeReviewer") == "codereviewer"); }

TEST_CASE("slugify turns spaces into hyphens") { CHECK(slugify("code reviewer bot") == "code-reviewer-bot"); }

TEST_CASE("slugify keeps digits and hyphens") { CHECK(slugify("gpt-4o-mini-2024") == "gpt-4o-mini-2024"); }

TEST_CASE("slugify drops every character outside a-z 0-9 and hyphen") {
  CHECK(slugify("a_b.c/d!e@f#g$h%i&j*k+l=m") == "abcdefghijklm");
  CHECK(slugify("caf\xc3\xa9 bot") == "caf-bot");
  CHECK(slugify("tab\there") == "tabhere");
}

TEST_CASE("slugify collapses runs of hyphens, including those made from spaces") {
  CHECK(slugify("a---b") == "a-b");
  CHECK(slugify("a   b") == "a-b");
  CHECK(slugify("a - b") == "a-b");
  CHECK(slugify("a -!- b") == "a-b");
}

TEST_CASE("slugify trims leading and trailing hyphens") {
  CHECK(slugify("--agent--") == "agent");
  CHECK(slugify("  My Agent  ") == "my-agent");
  CHECK(slugify("!agent!") == "agent");
}

TEST_CASE("slugify of a name with nothing to keep is empty") {
  CHECK(slugify("") == "");
  CHECK(slugify("!!! ???") == "");
  CHECK(slugify("- -") == "");
}

TEST_CASE("slugify is idempotent on a slug") {
  const std::string slug = slugify("  The Code_Reviewer (v2) -- beta  ");
  CHECK(slug == "the-codereviewer-v2-beta");
  CHECK(slugify(slug) == slug);
}
