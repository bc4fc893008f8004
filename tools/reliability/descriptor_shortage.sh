#!/bin/bash
# Runs AEXD under a 256-descriptor limit, exhausts its descriptors with 300 bare TCP connections,
# and asks it something with AEXCTL while they are held and again after they are closed.
# usage: tools/reliability/descriptor_shortage.sh AEXD AEXCTL [PORT]
set -u
aexd=$1 aexctl=$2 port=${3:-7391}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(ulimit -n 256 && exec "$aexd" --listen 127.0.0.1:"$port" --db "$dir/aexd.db" --readers 2) 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q serving "$dir/log" && break; sleep 0.1; done

ask() {  # one call from a new client, at most 20 s
  local start=$(date +%s%N) out code
  out=$(timeout 20 "$aexctl" --addr 127.0.0.1:"$port" agent get none 2>&1)
  code=$?
  [ $code = 124 ] && out="no answer (timed out)"
  echo "$1: $(( ($(date +%s%N) - start) / 1000000 )) ms, ${out%%$'\n'*}"
}

held=()
for _ in $(seq 300); do exec {fd}<>/dev/tcp/127.0.0.1/"$port" || break; held+=("$fd"); done
echo "bare connections held: ${#held[@]}"
sleep 1
ask "a new client while they are held"
for fd in "${held[@]}"; do exec {fd}>&-; done
sleep 2
ask "a new client after they closed"
echo "\"Failed accept4\" in the log: $(grep -c 'Failed accept4' "$dir/log")"
grep -h "descriptor" "$dir/log" | cut -c1-160
kill "$pid"
wait "$pid"
