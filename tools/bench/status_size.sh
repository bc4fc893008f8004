#!/usr/bin/env bash
# updateStatus cost as the pushed status grows: rps, p50/p99 and the server's CPU per call at
# c=16 for each status size, in interleaved rounds against one aexd. Usage:
#   tools/bench/status_size.sh AEXD AEXBENCH [rounds=3] [seconds=5] [sizes="1024 65536 1048576 8388608"]
set -euo pipefail
aexd=$1 bench=$2 rounds=${3:-3} seconds=${4:-5} sizes=${5:-1024 65536 1048576 8388608}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$aexd" --listen 127.0.0.1:17621 --db "$work/aexd.db" 2>"$work/aexd.log" &
pid=$!
for _ in $(seq 100); do grep -q serving "$work/aexd.log" && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }  # user + system clock ticks
for round in $(seq "$rounds"); do
  for size in $sizes; do
    # The CPU window also holds the setup and the 1 s warm-up, run at about the measured rate.
    before=$(cpu)
    "$bench" --host 127.0.0.1:17621 --call updateStatus -c 16 --executions 16 --message-bytes "$size" \
      -z "${seconds}s" --warmup 1s --json 2>/dev/null >"$work/run.json"
    after=$(cpu)
    python3 - "$work/run.json" "$round" "$size" "$before" "$after" "$(getconf CLK_TCK)" "$seconds" <<'PY' | tee -a "$work/runs"
import json, sys
s = json.load(open(sys.argv[1]))
assert list(s["statusCodeDistribution"]) == ["OK"], s["statusCodeDistribution"]
p = {d["percentage"]: d["latency"] / 1e6 for d in s["latencyDistribution"]}
calls = s["rps"] * (float(sys.argv[7]) + 1)
cpu_us = (int(sys.argv[5]) - int(sys.argv[4])) / int(sys.argv[6]) * 1e6 / max(calls, 1)
print(sys.argv[2], sys.argv[3], round(s["rps"]), f"{p[50]:.2f}", f"{p[99]:.2f}", round(cpu_us))
PY
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, size, rps, p50, p99, cpu = line.split()
    rows.setdefault(int(size), []).append((float(rps), float(p50), float(p99), float(cpu)))
print("\n| status bytes | rps (median) | p50 ms | p99 ms | server CPU µs per call |\n|---|---|---|---|---|")
for size, r in rows.items():
    med = [statistics.median(x[i] for x in r) for i in range(4)]
    print(f"| {size} | {med[0]:.0f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.0f} |")
PY
