// Self-signed certificates for TLS tests, made by the openssl command in a temporary directory:
// each is its own root, valid for 127.0.0.1 and localhost. Test thread only.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace aexd::test {

struct TestCertificate {
  std::string cert_path, key_path;
  std::string cert_pem, key_pem;
};

/// A fresh P-256 key and a self-signed certificate for it, as `dir`/NAME.{crt,key}.
inline TestCertificate make_test_certificate(const TempDir& dir, const std::string& name) {
  TestCertificate c;
  c.cert_path = (dir.path() / (name + ".crt")).string();
  c.key_path = (dir.path() / (name + ".key")).string();
  auto openssl = spawn_child(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=" + name +
      " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + shell_quoted(c.key_path) + " -out " +
      shell_quoted(c.cert_path));
  const cli::Output out = run_child_to_exit(*openssl);
  REQUIRE_MESSAGE(openssl->exit_status()->success(), (out.stderr_lines.empty() ? "" : out.stderr_lines.back()));
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  c.cert_pem = read(c.cert_path);
  c.key_pem = read(c.key_path);
  REQUIRE(!c.cert_pem.empty());
  REQUIRE(!c.key_pem.empty());
  return c;
}

}  // namespace aexd::test
