#!/usr/bin/env bash
# Builds and runs the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
bash "$root/scripts/test.sh" "$root/build-asan" -DBINWATCH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DBINWATCH_BENCH=OFF
