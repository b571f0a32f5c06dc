#!/usr/bin/env bash
# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer: what scripts/test.sh does by
# default (kept for habit and old notes).
set -euo pipefail
BINWATCH_SANITIZE=1 exec bash "$(cd "$(dirname "$0")" && pwd)/test.sh" "$@"
