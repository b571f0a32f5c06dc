#!/usr/bin/env bash
# The README's test command: installs what is needed, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole test suite (unit tests, fixture tests against
# ../shared/fixtures-real when present, and integration tests against private MariaDB instances
# started and stopped by the tests themselves) under them.
#   scripts/test.sh [BUILD_DIR] [extra cmake -D options...]      (default build-asan/)
# BINWATCH_SANITIZE=0: a plain build in build/ instead (what `scripts/build.sh` makes).
# BINWATCH_CTEST_ARGS: extra ctest arguments.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${BINWATCH_SANITIZE:-1}" = "1" ]; then
  build_dir="${1:-$root/build-asan}"
  shift || true
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  # -O1 keeps the instrumented suite fast enough for the daemon tests against a live server; they
  # are still timing-sensitive under the sanitizers (one rare miss seen in a PURGE + FLUSH wait),
  # so a failed test is run once more: a test that fails twice fails the run.
  ctest_args="${BINWATCH_CTEST_ARGS:---repeat until-pass:2}"
  bash "$root/scripts/build.sh" "$build_dir" -DBINWATCH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DBINWATCH_BENCH=OFF "$@"
else
  build_dir="${1:-$root/build}"
  shift || true
  ctest_args="${BINWATCH_CTEST_ARGS:-}"
  bash "$root/scripts/build.sh" "$build_dir" "$@"
fi
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 $ctest_args
