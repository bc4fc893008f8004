#!/usr/bin/env bash
# Installs the Debian 12 packages aexd builds and tests with.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(meson ninja-build pkg-config g++ cmake libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libboost-dev libsqlite3-dev nlohmann-json3-dev doctest-dev libcli11-dev libssl-dev
  prometheus-cpp-dev libspdlog-dev openssl
  postgresql-15 libpq-dev  # the shared storage (--db postgresql://...); tests start a throw-away cluster
  clang-14 libclang-rt-14-dev llvm-14)  # the sanitizer build (scripts/test.sh); llvm-14 symbolizes its reports
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
