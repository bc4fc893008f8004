#!/usr/bin/env bash
# Interleaved throughput rounds of several aexd configurations on one machine: each round runs every
# call against every configuration in turn with the same aexbench, so all see the same background
# load. A configuration is NAME=AEXD [aexd flags...], optionally followed by | and aexbench flags
# (a token, a CA); NAME=N*AEXD --db URI [flags...] runs N processes on one database and spreads the load. Prints every run's rps and, per configuration and call, the median rps, the median
# of the round ratios to the first configuration and, when noop is among the calls, to that round's noop.
#   tools/bench/rounds.sh AEXBENCH ROUNDS SECONDS "CALLS" CONFIG...
set -euo pipefail
bench=$1 rounds=$2 seconds=$3 calls=$4
shift 4
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
names=() hosts=() clients=()
port=17611
for config in "$@"; do
  name=${config%%=*} spec=${config#*=}
  read -r -a server <<<"${spec%%|*}"
  client=""
  [[ $spec == *"|"* ]] && client=${spec#*|}
  # N*AEXD: N processes (on the --db the flags give), the load spread over them, a connection each.
  replicas=1
  if [[ ${server[0]} == *"*"* ]]; then replicas=${server[0]%%\**} server[0]=${server[0]#*\*}; fi
  db=(--db "$work/$name.db")
  [[ " ${server[*]} " == *" --db "* ]] && db=()
  [ "$replicas" -gt 1 ] && client+=" --connections $replicas"
  list=""
  for r in $(seq "$replicas"); do
    log=$work/$name.$r.log
    "${server[0]}" --listen "127.0.0.1:$port" "${db[@]}" "${server[@]:1}" 2>"$log" &
    for _ in $(seq 100); do grep -q serving "$log" && break; sleep 0.1; done
    grep -q serving "$log" || { echo "rounds.sh: $name did not start" >&2; cat "$log" >&2; exit 1; }
    list+="${list:+,}127.0.0.1:$port"
    port=$((port + 1))
  done
  names+=("$name") hosts+=("$list") clients+=("$client")
done
for round in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    for call in $calls; do
      # shellcheck disable=SC2086 # the client flags are a list of words
      rps=$("$bench" --host "${hosts[$i]}" ${clients[$i]} --call "$call" -c 64 -z "${seconds}s" --warmup 1s --json |
            python3 -c 'import json,sys; s=json.load(sys.stdin); c=s["statusCodeDistribution"];
assert list(c)==["OK"], c; print(round(s["rps"]))')
      echo "$round ${names[$i]} $call $rps" | tee -a "$work/runs"
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
first = configs[0]
median = lambda values: f"{statistics.median(values):.2f}"
print(f"\n| configuration | call | rps per round | median rps | median round ratio to {first} | to noop |")
print("|---|---|---|---|---|---|")
for config in configs:
    for call in calls:
        rps = [runs[(r, config, call)] for r in rounds]
        to_first = median([runs[(r, config, call)] / runs[(r, first, call)] for r in rounds])
        to_noop = median([runs[(r, config, call)] / runs[(r, config, "noop")] for r in rounds]) if "noop" in calls else ""
        print(f"| {config} | {call} | {', '.join(f'{x:.0f}' for x in rps)} | {statistics.median(rps):.0f} "
              f"| {to_first} | {to_noop} |")
PY
