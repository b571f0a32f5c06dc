#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, and runs the whole test suite
# (unit tests, fixture tests against ../shared/fixtures-real when present, and integration tests
# against private MariaDB instances started and stopped by the tests themselves).
#   scripts/test.sh [BUILD_DIR] [extra cmake -D options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:-$root/build}"
shift || true
bash "$root/scripts/build.sh" "$build_dir" "$@"
# BINWATCH_CTEST_ARGS: extra ctest arguments (the sanitizer run retries a failed test once).
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 ${BINWATCH_CTEST_ARGS:-}
