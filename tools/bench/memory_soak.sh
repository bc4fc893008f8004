#!/usr/bin/env bash
# Resident memory of one aexd over repeated load bursts: each burst runs aexbench CALL with C calls
# in flight for SECONDS, then leaves the server quiet for QUIET seconds. RSS and its anonymous part
# are read from /proc right after each burst and at the end of its quiet; a plateau after the
# first bursts means no leak. AEXD_FLAGS adds flags to aexd's command line (e.g. --cache-mb 0). Usage:
#   tools/bench/memory_soak.sh AEXD AEXBENCH [bursts=10] [seconds=5] [quiet=3] [call=updateStatus] [c=1000]
set -euo pipefail
aexd=$1 bench=$2 bursts=${3:-10} seconds=${4:-5} quiet=${5:-3} call=${6:-updateStatus} c=${7:-1000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # AEXD_FLAGS is a list of words
"$aexd" --listen 127.0.0.1:17621 --db "$work/soak.db" ${AEXD_FLAGS:-} 2>"$work/aexd.log" &
pid=$!
for _ in $(seq 100); do grep -q serving "$work/aexd.log" && break; sleep 0.1; done
mib() { awk -v k="$1" '$1 == k":" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
echo "| burst | rps | OK share | RSS after burst MiB | anon | RSS after quiet MiB | anon |"
echo "|---|---|---|---|---|---|---|"
echo "| start | | | $(mib VmRSS) | $(mib RssAnon) | | |"
for burst in $(seq "$bursts"); do
  summary=$("$bench" --host 127.0.0.1:17621 --call "$call" -c "$c" -z "${seconds}s" --connections 4 --timeout 2s --json |
            python3 -c 'import json,sys; s=json.load(sys.stdin); c=s["statusCodeDistribution"];
print(round(s["rps"]), "%.2f" % (c.get("OK", 0) / max(1, sum(c.values()))))')
  after_burst="$(mib VmRSS) | $(mib RssAnon)"
  sleep "$quiet"
  echo "| $burst | ${summary% *} | ${summary#* } | $after_burst | $(mib VmRSS) | $(mib RssAnon) |"
done
