#!/usr/bin/env bash
# Runs every test suite against one build directory; exits non-zero on any failure.
set -euo pipefail
build_dir=${1:-build}
cd "$(dirname "$0")/.."
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j 2
