#!/usr/bin/env bash
# Installs dependencies, builds (warnings are errors) and runs the whole test suite twice: a gcc build
# (its e2e tests on SQLite and again on PostgreSQL), then a clang ASan+UBSan build (SQLite only) where
# any sanitizer report fails its test; then fuzzes, if fuzz targets exist.
set -euo pipefail
cd "$(dirname "$0")/.."

# timed NAME COMMAND...: runs COMMAND and prints how long it took (CI's time budget is in docs/reliability.md).
timed() {
  local name=$1 start=$SECONDS status=0
  shift
  "$@" || status=$?
  echo "== $name: $((SECONDS - start)) s (exit $status)"
  return $status
}

# suite BUILDDIR [MESON TEST ARGS...]: the suite of one build (all of it unless ARGS narrow it), then a
# count of its results.
suite() {
  local dir=$1 status=0
  shift
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=$?
  python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
print(f"{sys.argv[1]}: {results.count('OK')} passed, {len(results) - results.count('OK')} failed")
PY
  return $status
}

timed "install dependencies" scripts/install-deps.sh

# Without debug info: a third less compile time, which CI's budget needs (configure your own build for gdb).
[ -d build ] || meson setup build --wrap-mode=nodownload -Ddebug=false
timed "gcc build" ninja -C build
status=0
timed "gcc suite" suite build || status=1

# -O1 without debug info keeps this build's CPU time within CI's budget; reports still name functions.
# The fuzz targets (scripts/fuzz.sh) are built in this same directory.
fuzz=()
[ -x scripts/fuzz.sh ] && fuzz=(-Dfuzz=true)
[ -d build-asan ] || CC=clang-14 CXX=clang++-14 meson setup build-asan --wrap-mode=nodownload \
  -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 -Ddebug=false \
  -Dcpp_args=-fno-sanitize-recover=all -Dperf=false "${fuzz[@]}"
timed "clang ASan+UBSan build" ninja -C build-asan
# Any report ends the process with a failure; leaks count (LeakSanitizer runs at exit). Reports go to
# files too, so that one in a child process (aexd, aexctl) fails CI even if its test ignores the exit.
reports=$PWD/build-asan/meson-logs/sanitizer
rm -f "$reports".*
common=halt_on_error=1:external_symbolizer_path=/usr/bin/llvm-symbolizer-14:log_path=$reports
export ASAN_OPTIONS=$common:detect_leaks=1
export UBSAN_OPTIONS=$common:print_stacktrace=1
# The e2e tests' second run against PostgreSQL (suite postgresql) is the gcc build's only: CI's time budget.
timed "ASan+UBSan suite" suite build-asan --no-suite postgresql || status=1
if compgen -G "$reports.*" >/dev/null; then
  cat "$reports".*
  echo "sanitizer reports: $(ls "$reports".* | wc -l) (in $reports.*)"
  status=1
fi
if [ -x scripts/fuzz.sh ]; then
  timed "fuzzing" scripts/fuzz.sh build-asan 60 || status=1
fi
echo "== total: $SECONDS s"
exit $status
