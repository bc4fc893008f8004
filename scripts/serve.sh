#!/usr/bin/env bash
# Installs dependencies, builds a release aexd and runs it on its defaults
# (127.0.0.1:7234, ./aexd.db). Extra arguments go to aexd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build-release ] || meson setup build-release --buildtype=release --wrap-mode=nodownload
ninja -C build-release src/aexd
exec build-release/src/aexd "$@"
