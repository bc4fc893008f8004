#!/usr/bin/env bash
# What auth, TLS and metrics cost per call: one aexd binary run as several configurations at once
# (plain; --auth-tokens; TLS; --metrics-listen; all three), measured in interleaved rounds so each
# sees the same background load. Prints every run's rps and, per configuration and call, the median
# of the round ratios to that round's plain run. Usage:
#   tools/bench/ops_cost.sh AEXD AEXBENCH [rounds=5] [seconds=5] [calls="get updateStatus create"]
set -euo pipefail
aexd=$1 bench=$2 rounds=${3:-5} seconds=${4:-5} calls=${5:-get updateStatus create}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# A CA and a server certificate for 127.0.0.1, and one writer token.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1') -out "$work/server.pem" 2>/dev/null
token=aexd_$(openssl rand -hex 32)
echo "bench writer $(printf %s "$token" | sha256sum | cut -d' ' -f1)" >"$work/tokens"

auth=(--auth-tokens "$work/tokens")
tls=(--tls-cert "$work/server.pem" --tls-key "$work/server.key")
metrics=(--metrics-listen 127.0.0.1:0)
declare -A port=([plain]=17621 [auth]=17622 [tls]=17623 [metrics]=17624 [all]=17625)
declare -A client=([plain]="" [auth]="--token $token" [tls]="--tls-ca $work/ca.pem" [metrics]=""
                   [all]="--token $token --tls-ca $work/ca.pem")
start() {  # name flags...
  local name=$1
  shift
  "$aexd" --listen "127.0.0.1:${port[$name]}" --db "$work/$name.db" "$@" 2>"$work/$name.log" &
  for _ in $(seq 100); do grep -q serving "$work/$name.log" && return; sleep 0.1; done
  echo "ops_cost.sh: $name did not start" >&2
  exit 1
}
start plain
start auth "${auth[@]}"
start tls "${tls[@]}"
start metrics "${metrics[@]}"
start all "${auth[@]}" "${tls[@]}" "${metrics[@]}"
configs="plain auth tls metrics all"
for round in $(seq "$rounds"); do
  for config in $configs; do
    for call in $calls; do
      # shellcheck disable=SC2086
      rps=$("$bench" --host "127.0.0.1:${port[$config]}" ${client[$config]} --call "$call" -c 64 -z "${seconds}s" \
              --warmup 1s --json |
            python3 -c 'import json,sys; s=json.load(sys.stdin); c=s["statusCodeDistribution"];
assert list(c)==["OK"], c; print(round(s["rps"]))')
      echo "$round $config $call $rps" | tee -a "$work/runs"
    done
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, config, call, rps = line.split()
    runs[(int(r), config, call)] = float(rps)
rounds = sorted({r for r, _, _ in runs})
configs = list(dict.fromkeys(c for _, c, _ in runs))
calls = list(dict.fromkeys(c for _, _, c in runs))
print("\n| configuration | call | rps per round | median rps | median round ratio to plain | µs per call added |")
print("|---|---|---|---|---|---|")
for config in configs:
    for call in calls:
        rps = [runs[(r, config, call)] for r in rounds]
        ratios = [runs[(r, config, call)] / runs[(r, "plain", call)] for r in rounds]
        added = [1e6 / runs[(r, config, call)] - 1e6 / runs[(r, "plain", call)] for r in rounds]
        print(f"| {config} | {call} | {', '.join(f'{x:.0f}' for x in rps)} | {statistics.median(rps):.0f} "
              f"| {statistics.median(ratios):.2f} | {statistics.median(added):+.0f} |")
PY
