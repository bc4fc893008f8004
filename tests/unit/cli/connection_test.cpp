#include "cli/connection.h"

#include <doctest/doctest.h>

#include <fstream>

#include "support/temp_dir.h"

using namespace aexd::cli;
using aexd::test::TempDir;

namespace {

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = (dir.path() / name).string();
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("the token is the token file's first line, trimmed") {
  TempDir dir;
  std::string error;
  CHECK(read_token_file(write(dir, "a", "  aexd_abc \r\nsecond line\n"), error) == "aexd_abc");
  CHECK(read_token_file(write(dir, "b", "aexd_no_newline"), error) == "aexd_no_newline");
}

TEST_CASE("a token file that is missing or whose first line is empty is an error") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(read_token_file((dir.path() / "missing").string(), error));
  CHECK(error.find("missing") != std::string::npos);
  error.clear();
  CHECK_FALSE(read_token_file(write(dir, "empty", " \nlater\n"), error));
  CHECK(error.find("no token") != std::string::npos);
}

TEST_CASE("opening a connection fails on unreadable TLS files and a client certificate without its key") {
  TempDir dir;
  std::string error;
  ConnectionOptions options;
  options.tls_ca = (dir.path() / "ca.pem").string();
  CHECK(Connection::open(options, error) == nullptr);
  CHECK(error.find("ca.pem") != std::string::npos);

  ConnectionOptions half;
  half.tls_cert = write(dir, "cert.pem", "x");
  CHECK(Connection::open(half, error) == nullptr);
  CHECK(error.find("--tls-key") != std::string::npos);

  CHECK(Connection::open(ConnectionOptions{}, error) != nullptr);  // plaintext: nothing to read
}

TEST_CASE("status codes are described by name") {
  CHECK(describe(grpc::Status(grpc::StatusCode::NOT_FOUND, "no agent agt-1")) == "NOT_FOUND: no agent agt-1");
  CHECK(describe(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")) == "UNAUTHENTICATED");
}
