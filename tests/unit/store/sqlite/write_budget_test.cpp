#include "store/write_budget.h"

#include <doctest/doctest.h>

#include <chrono>

using aexd::store::WriteBudget;
using namespace std::chrono_literals;

TEST_CASE("before anything committed, the budget admits every write") {
  WriteBudget budget(500ms);
  CHECK(budget.jobs_per_second() == 0);
  CHECK(budget.admits(1'000'000));
}

TEST_CASE("a write is admitted while the queue ahead of it commits within the budget at the learnt rate") {
  WriteBudget budget(500ms);
  budget.committed(1000, 100ms);  // 10,000 jobs per second: 5,000 in half a second
  CHECK(budget.jobs_per_second() == doctest::Approx(10'000));
  CHECK(budget.admits(0));
  CHECK(budget.admits(5000));
  CHECK_FALSE(budget.admits(5001));
}

TEST_CASE("a zero budget admits every write whatever the rate") {
  WriteBudget budget(0ms);
  budget.committed(10, 1s);
  CHECK(budget.admits(1'000'000));
}

TEST_CASE("a full batch moves the rate further than a one-job batch") {
  WriteBudget full(1s), single(1s);
  for (auto* budget : {&full, &single}) budget->committed(512, 51200us);  // 10,000/s
  full.committed(512, 25600us);                                           // 20,000/s
  single.committed(1, 50us);                                              // 20,000/s, one job
  CHECK(full.jobs_per_second() == doctest::Approx(15'000));               // half-way: a 512-job batch weighs one half
  CHECK(single.jobs_per_second() < 10'050);
  CHECK(single.jobs_per_second() > 10'000);
}

TEST_CASE("a slower writer sheds sooner: the rate follows the batches committed") {
  WriteBudget budget(1s);
  budget.committed(512, 51200us);  // 10,000/s
  CHECK(budget.admits(9000));
  for (int i = 0; i < 20; ++i) budget.committed(512, 512ms);  // 1,000/s, e.g. a slow disk
  CHECK(budget.jobs_per_second() < 1100);
  CHECK_FALSE(budget.admits(1200));
  CHECK(budget.admits(900));
}

TEST_CASE("a batch of no jobs or of no measurable time leaves the rate alone") {
  WriteBudget budget(1s);
  budget.committed(100, 10ms);
  budget.committed(0, 10ms);
  budget.committed(100, 0ms);
  CHECK(budget.jobs_per_second() == doctest::Approx(10'000));
}
