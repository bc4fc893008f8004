#!/usr/bin/env bash
# Interleaved throughput rounds of two aexd builds on one machine: each round runs every call
# against build A, then against build B, with the same aexbench, so both see the same background
# load. Prints every run's rps and, per build and call, the median of the round ratios to that
# round's noop, and per call the median of the round ratios B/A. Usage:
#   tools/bench/compare.sh A_AEXD B_AEXD AEXBENCH [rounds=5] [seconds=5] [calls="noop updateStatus create get"]
set -euo pipefail
a=$1 b=$2 bench=$3 rounds=${4:-5} seconds=${5:-5} calls=${6:-noop updateStatus create get}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
start() {  # name binary port
  "$2" --listen "127.0.0.1:$3" --db "$work/$1.db" --bench-noop 2>"$work/$1.log" &
  for _ in $(seq 100); do grep -q serving "$work/$1.log" && return; sleep 0.1; done
  echo "compare.sh: $2 did not start" >&2; exit 1
}
start A "$a" 17611
start B "$b" 17612
for round in $(seq "$rounds"); do
  for server in A:17611 B:17612; do
    for call in $calls; do
      rps=$("$bench" --host "127.0.0.1:${server#*:}" --call "$call" -c 64 -z "${seconds}s" --warmup 1s --json |
            python3 -c 'import json,sys; s=json.load(sys.stdin); c=s["statusCodeDistribution"];
assert list(c)==["OK"], c; print(round(s["rps"]))')
      echo "$round ${server%%:*} $call $rps" | tee -a "$work/runs"
    done
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, server, call, rps = line.split()
    runs[(int(r), server, call)] = float(rps)
rounds = sorted({r for r, _, _ in runs})
calls = list(dict.fromkeys(c for _, _, c in runs))
print("\n| build | call | rps per round | median rps | median round ratio to noop |")
print("|---|---|---|---|---|")
for server in ("A", "B"):
    for call in calls:
        rps = [runs[(r, server, call)] for r in rounds]
        ratios = [runs[(r, server, call)] / runs[(r, server, "noop")] for r in rounds] if "noop" in calls else []
        ratio = f"{statistics.median(ratios):.2f}" if ratios else ""
        print(f"| {server} | {call} | {', '.join(f'{x:.0f}' for x in rps)} | {statistics.median(rps):.0f} | {ratio} |")
print("\n| call | median round ratio B/A |\n|---|---|")
for call in calls:
    print(f"| {call} | {statistics.median(runs[(r, 'B', call)] / runs[(r, 'A', call)] for r in rounds):.2f} |")
PY
