#!/usr/bin/env bash
# Throughput of aexd on SQLite against 1, 2 and 3 aexd processes sharing one PostgreSQL database, in
# interleaved rounds (rounds.sh), then the delay of a subscribe on one process to an update written
# through another. Starts a throw-away PostgreSQL cluster (default settings but for the port and
# socket directory: durable, fsync on) in a temporary directory, as nobody when run as root.
#   tools/bench/replicas.sh BUILDDIR [ROUNDS] [SECONDS] [CALLS]
set -euo pipefail
build=$(realpath "$1") rounds=${2:-5} seconds=${3:-5} calls=${4:-"create updateStatus get"}
bin=/usr/lib/postgresql/15/bin
work=$(mktemp -d)
as=()
if [ "$(id -u)" -eq 0 ]; then
  chown 65534:65534 "$work"
  as=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT
(cd "$work" && "${as[@]}" "$bin/initdb" -D "$work/data" -U aexd -A trust -E UTF8 --locale=C >/dev/null)
(cd "$work" && "${as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w start \
  -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work -c max_connections=200" >/dev/null)
uri() { echo "postgresql://aexd@127.0.0.1:$port/$1"; }
for db in one two three watch; do psql -q "$(uri postgres)" -c "CREATE DATABASE $db"; done

aexd=$build/src/aexd
"$(dirname "$0")/rounds.sh" "$build/tools/bench/aexbench" "$rounds" "$seconds" "$calls" \
  "sqlite-1=$aexd" \
  "postgresql-1=$aexd --db $(uri one)" \
  "postgresql-2=2*$aexd --db $(uri two)" \
  "postgresql-3=3*$aexd --db $(uri three)"

echo
echo "subscribe on one process, updates through another (PostgreSQL LISTEN/NOTIFY):"
"$aexd" --listen 127.0.0.1:17701 --db "$(uri watch)" 2>"$work/a.log" &
"$aexd" --listen 127.0.0.1:17702 --db "$(uri watch)" 2>"$work/b.log" &
for log in a b; do
  for _ in $(seq 100); do grep -q serving "$work/$log.log" && break; sleep 0.1; done
done
"$build/tools/bench/aexd-watchbench" --host 127.0.0.1:17701 --write-host 127.0.0.1:17702 --executions 20 --rounds 50
echo "same process:"
"$build/tools/bench/aexd-watchbench" --host 127.0.0.1:17701 --executions 20 --rounds 50
kill %1 %2 2>/dev/null || true
wait 2>/dev/null || true
