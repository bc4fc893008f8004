#!/usr/bin/env bash
# What auth, TLS and metrics cost per call: one aexd binary run as several configurations at once
# (plain; --auth-tokens; TLS; --metrics-listen; all three) in interleaved rounds (rounds.sh), each
# configuration's ratio to plain per call. Usage:
#   tools/bench/ops_cost.sh AEXD AEXBENCH [rounds=5] [seconds=5] [calls="get updateStatus create"]
set -euo pipefail
aexd=$1 bench=$2 rounds=${3:-5} seconds=${4:-5} calls=${5:-get updateStatus create}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A CA and a server certificate for 127.0.0.1, and one writer token.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1') -out "$work/server.pem" 2>/dev/null
token=aexd_$(openssl rand -hex 32)
echo "bench writer $(printf %s "$token" | sha256sum | cut -d' ' -f1)" >"$work/tokens"

tls_flags="--tls-cert $work/server.pem --tls-key $work/server.key"
"$(dirname "$0")/rounds.sh" "$bench" "$rounds" "$seconds" "$calls" \
  "plain=$aexd" \
  "auth=$aexd --auth-tokens $work/tokens|--token $token" \
  "tls=$aexd $tls_flags|--tls-ca $work/ca.pem" \
  "metrics=$aexd --metrics-listen 127.0.0.1:0" \
  "all=$aexd --auth-tokens $work/tokens $tls_flags --metrics-listen 127.0.0.1:0|--token $token --tls-ca $work/ca.pem"
