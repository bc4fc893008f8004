#!/usr/bin/env bash
# Two aexd builds, A and B, in interleaved rounds (tools/bench/rounds.sh): B's ratio to A per call,
# and each build's ratio to its own noop. Usage:
#   tools/bench/compare.sh A_AEXD B_AEXD AEXBENCH [rounds=5] [seconds=5] [calls="noop updateStatus create get"]
set -euo pipefail
exec "$(dirname "$0")/rounds.sh" "$3" "${4:-5}" "${5:-5}" "${6:-noop updateStatus create get}" \
  "A=$1 --bench-noop" "B=$2 --bench-noop"
