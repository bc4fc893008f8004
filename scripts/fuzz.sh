#!/usr/bin/env bash
# Runs every libFuzzer target of a build configured with -Dfuzz=true for <seconds> each, over a copy of
# its seed corpus (tests/fuzz/corpus/<target>/, never written to). Prints one line per target and exits
# non-zero if any target found a crash or an invariant violation; its inputs are kept in
# <builddir>/fuzz-artifacts/<target>/.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <builddir> <seconds per target>" >&2
  exit 2
fi
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# UBSan reports are failures too; leaks are checked when the run ends.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

failed=0
for seeds in "$root"/tests/fuzz/corpus/*/; do
  target=$(basename "$seeds")
  exe=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$exe" ]; then
    echo "$target: no $exe (configure with CXX=clang++-14 -Dfuzz=true -Db_sanitize=address,undefined)"
    failed=1
    continue
  fi
  corpus=$work/$target/corpus
  artifacts=$build/fuzz-artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  cp "$seeds"* "$corpus"/
  result=ok
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$work/$target/log" 2>&1 || result=FAILED
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target/log")
  coverage=$(grep -o 'cov: [0-9]*' "$work/$target/log" | tail -n 1 | cut -d' ' -f2 || true)
  printf '%-13s %-6s runs %-10s coverage %-6s corpus %s -> %s\n' "$target" "$result" "${runs:-?}" "${coverage:-?}" \
    "$(ls "$seeds" | wc -l)" "$(ls "$corpus" | wc -l)"
  if [ "$result" != ok ]; then
    failed=1
    tail -n 40 "$work/$target/log"
  fi
done
exit $failed
