#include "cli/phase.h"

#include <doctest/doctest.h>

using namespace aexd::cli;

TEST_CASE("phase names parse with or without EXECUTION_, in any case") {
  CHECK(parse_phase("in_progress") == exv1::EXECUTION_IN_PROGRESS);
  CHECK(parse_phase("EXECUTION_IN_PROGRESS") == exv1::EXECUTION_IN_PROGRESS);
  CHECK(parse_phase("Completed") == exv1::EXECUTION_COMPLETED);
  CHECK(parse_phase("execution_failed") == exv1::EXECUTION_FAILED);
  CHECK(parse_phase("waiting_for_approval") == exv1::EXECUTION_WAITING_FOR_APPROVAL);
  CHECK(parse_phase("paused") == exv1::EXECUTION_PAUSED);
  CHECK(parse_phase("terminated") == exv1::EXECUTION_TERMINATED);
}

TEST_CASE("phase names that are no phase do not parse") {
  CHECK_FALSE(parse_phase(""));
  CHECK_FALSE(parse_phase("running"));
  CHECK_FALSE(parse_phase("in progress"));
  CHECK_FALSE(parse_phase("unspecified"));
  CHECK_FALSE(parse_phase("EXECUTION_PHASE_UNSPECIFIED"));
  CHECK_FALSE(parse_phase("EXECUTION_"));
}

TEST_CASE("short names drop EXECUTION_, and short names parse back") {
  for (int n = 1; n <= 8; ++n) {
    const auto phase = static_cast<exv1::ExecutionPhase>(n);
    CAPTURE(n);
    CHECK(parse_phase(short_name(phase)) == phase);
  }
  CHECK(short_name(exv1::EXECUTION_IN_PROGRESS) == "IN_PROGRESS");
  CHECK(short_name(static_cast<exv1::ExecutionPhase>(42)) == "42");
}

TEST_CASE("only COMPLETED exits 0; each other terminal phase has its own exit status") {
  CHECK(exit_code_for(exv1::EXECUTION_COMPLETED) == 0);
  CHECK(exit_code_for(exv1::EXECUTION_FAILED) == exit_code::kFailed);
  CHECK(exit_code_for(exv1::EXECUTION_CANCELLED) == exit_code::kCancelled);
  CHECK(exit_code_for(exv1::EXECUTION_TERMINATED) == exit_code::kTerminated);
  CHECK(exit_code_for(exv1::EXECUTION_IN_PROGRESS) != 0);
  CHECK(is_terminal(exv1::EXECUTION_TERMINATED));
  CHECK_FALSE(is_terminal(exv1::EXECUTION_PAUSED));
}
