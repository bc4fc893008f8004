#!/usr/bin/env bash
# The whole suite under ThreadSanitizer (not in CI; results in docs/reliability.md). Debian builds
# gRPC, absl and protobuf without TSan, so it sees none of their locks and atomics: every object
# handed from one thread to another through gRPC (a reactor, a request, a reply's slices) is
# reported as a race between the code before the hand-off and the gRPC callback after it. This
# script therefore sorts the reports: those where neither access runs inside a gRPC callback are
# races between aexd's own threads (Asio pool, write strand, timers), which TSan does see in full,
# and fail the run; the rest are counted per test for review. Any report in a unit test fails too.
#   scripts/tsan.sh [builddir=build-tsan] [meson test arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
shift || true
[ -d "$build" ] || CC=clang-14 CXX=clang++-14 meson setup "$build" --wrap-mode=nodownload \
  -Db_sanitize=thread -Db_lundef=false -Doptimization=1 -Ddebug=false -Dperf=false
ninja -C "$build"
reports=$PWD/$build/meson-logs/tsan
rm -rf "$reports" && mkdir -p "$reports"
# exitcode=0: a test fails on its own checks only; the reports are judged below.
export TSAN_OPTIONS="exitcode=0:halt_on_error=0:ignore_noninstrumented_modules=1:second_deadlock_stack=1:log_path=$reports/report:external_symbolizer_path=/usr/bin/llvm-symbolizer-14"
status=0
meson test -C "$build" --num-processes 2 --timeout-multiplier 10 "$@" || status=1
python3 - "$reports" <<'PY' || status=1
import collections, glob, re, sys
# A stack that runs in a gRPC callback or handler, or in gRPC's own code (inlined here, or in its
# libraries; a report cut short when its process was killed may show only that top frame).
through_grpc = re.compile(r'CallbackWithSuccessTag::Run|Callback\w*Handler|ClientCallback|CallOpRecvMessage|'
                          r'#0 grpc::|grpc_core::|\(libgrpc')
per_test = collections.Counter()
own = collections.Counter()
unit = collections.Counter()
for path in glob.glob(sys.argv[1] + '/report.*'):
    for report in open(path, errors='replace').read().split('==================\n'):
        kind = re.search(r'WARNING: ThreadSanitizer: ([^(]+)', report)
        if not kind:
            continue
        test = re.search(r'\(((?!lib)[^\s/()]+)\+0x', report)  # the executable: a test, aexd or aexctl
        test = test.group(1) if test else '?'
        per_test[test] += 1
        if test.startswith('unit_'):
            unit[test] += 1
        stacks = [s for s in re.split(r'\n\s*\n', report) if re.search(r'^\s+(Read|Write|Atomic|Previous)', s, re.M)]
        if not kind.group(1).startswith('data race') or not any(through_grpc.search(s) for s in stacks):
            frames = [re.findall(r'#\d+ (\S+)', s)[:3] for s in stacks]
            own[(kind.group(1).strip(), str(frames), path)] += 1
print('reports per test (all at gRPC hand-offs unless listed below):')
for test, n in sorted(per_test.items()):
    print(f'  {test}: {n}')
for (kind, frames, path), n in own.most_common():
    print(f'RACE BETWEEN AEXD THREADS ({n}x, {path}): {kind} {frames}')
for test, n in unit.items():
    print(f'REPORT IN A UNIT TEST: {test}: {n}')
sys.exit(1 if own or unit else 0)
PY
exit $status
