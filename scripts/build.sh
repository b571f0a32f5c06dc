#!/usr/bin/env bash
# Installs the Debian packages binwatch needs (scripts/install-deps.sh) and builds it.
#   scripts/build.sh [BUILD_DIR] [extra cmake -D options...]
# Environment: BINWATCH_SKIP_DEPS=1 skips the package step (offline rebuilds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:-$root/build}"
shift || true
if [ "${BINWATCH_SKIP_DEPS:-0}" != "1" ]; then
  bash "$root/scripts/install-deps.sh"
fi
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$root" -B "$build_dir" -G Ninja "$@"
cmake --build "$build_dir" -j"$jobs"
