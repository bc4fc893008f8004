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

# fuzz_one SEEDS: one target over a copy of its seeds; its summary line goes to $work/<target>/summary,
# and its log's tail after it when it failed (marked by $work/<target>/failed).
fuzz_one() {
  local seeds=$1 target exe corpus artifacts result=ok runs coverage
  target=$(basename "$seeds")
  exe=$build/tests/fuzz/fuzz_$target
  corpus=$work/$target/corpus
  artifacts=$build/fuzz-artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  if [ ! -x "$exe" ]; then
    echo "$target: no $exe (configure with CXX=clang++-14 -Dfuzz=true -Db_sanitize=address,undefined)" \
      >"$work/$target/summary"
    touch "$work/$target/failed"
    return
  fi
  cp "$seeds"* "$corpus"/
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$work/$target/log" 2>&1 || result=FAILED
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target/log")
  coverage=$(grep -o 'cov: [0-9]*' "$work/$target/log" | tail -n 1 | cut -d' ' -f2 || true)
  printf '%-13s %-6s runs %-10s coverage %-6s corpus %s -> %s\n' "$target" "$result" "${runs:-?}" \
    "${coverage:-?}" "$(ls "$seeds" | wc -l)" "$(ls "$corpus" | wc -l)" >"$work/$target/summary"
  if [ "$result" != ok ]; then
    tail -n 40 "$work/$target/log" >>"$work/$target/summary"
    touch "$work/$target/failed"
  fi
}

# One target per core at a time: CI's time budget counts wall-clock seconds.
targets=()
for seeds in "$root"/tests/fuzz/corpus/*/; do
  targets+=("$(basename "$seeds")")
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_one "$seeds" &
done
wait || true
failed=0
for target in "${targets[@]}"; do
  cat "$work/$target/summary"
  [ ! -e "$work/$target/failed" ] || failed=1
done
exit $failed
