#!/usr/bin/env bash
# Installs dependencies, builds (warnings are errors) and runs the whole test suite once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build ] || meson setup build --wrap-mode=nodownload
ninja -C build
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
print(f"tests: {results.count('OK')} passed, {len(results) - results.count('OK')} failed")
PY
exit $status
