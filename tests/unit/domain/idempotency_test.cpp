#include "domain/idempotency.h"

#include <doctest/doctest.h>

#include <string>

#include "support/requests.h"

using namespace aexd;

TEST_CASE("an idempotency key is 1 to 128 printable ASCII characters") {
  CHECK(validate_idempotency_key("k").ok());
  CHECK(validate_idempotency_key(std::string(128, 'k')).ok());
  CHECK(validate_idempotency_key(" !~run-42/attempt:1 ").ok());
  for (const std::string& bad : {std::string(), std::string(129, 'k'), std::string("caf\xc3\xa9"),
                                 std::string("tab\there"), std::string("nul\0", 4), std::string("del\x7f")}) {
    CAPTURE(bad);
    const auto status = validate_idempotency_key(bad);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().rfind("idempotency-key: ", 0) == 0);
  }
}

TEST_CASE("the request fingerprint ignores the order map entries were added in and nothing else") {
  Execution a = test::make_execution_for_agent("agt-1");
  (*a.mutable_spec()->mutable_runtime_env())["A"].set_value("1");
  (*a.mutable_spec()->mutable_runtime_env())["B"].set_value("2");
  Execution b = test::make_execution_for_agent("agt-1");
  (*b.mutable_spec()->mutable_runtime_env())["B"].set_value("2");
  (*b.mutable_spec()->mutable_runtime_env())["A"].set_value("1");
  Execution c = a;
  c.mutable_spec()->set_message("hello!");

  CHECK(request_fingerprint(a) == request_fingerprint(b));
  CHECK(request_fingerprint(a) != request_fingerprint(c));
  CHECK(request_fingerprint(a).size() == 32);
}
