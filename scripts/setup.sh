#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages (idempotent, non-interactive).
# scripts/fuzz.sh needs clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, which
# clang only recommends, so --no-install-recommends would leave them out).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libsodium-dev libjwt-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 curl procps
  postgresql libpq-dev
  redis-server redis-tools libhiredis-dev
  haproxy nginx python3-yaml
  libncurses-dev tmux openssl
  nodejs chromium fonts-dejavu-core
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
