#!/usr/bin/env bash
# Renders a local HTML page (binwatch report --format html) in headless Chromium, offline.
#   scripts/html-screenshot.sh IN.html OUT.png [WIDTHxHEIGHT]   screenshot (default 1280x2000)
#   scripts/html-screenshot.sh --dump-dom IN.html               the DOM as Chromium parsed it
# Needs Debian's `chromium` (scripts/install-deps.sh); CHROMIUM=/path overrides it. No network:
# the page is a file:// URL, background services are off and every host name fails to resolve.
# --no-sandbox because the tests run as root in a container.
set -euo pipefail
usage() { echo "usage: $0 IN.html OUT.png [WIDTHxHEIGHT] | $0 --dump-dom IN.html" >&2; exit 2; }
[ $# -ge 2 ] || usage
chromium="${CHROMIUM:-chromium}"
command -v "$chromium" >/dev/null || { echo "$0: $chromium not found (apt-get install chromium)" >&2; exit 3; }
mode=screenshot
if [ "$1" = "--dump-dom" ]; then mode=dom; shift; fi
in="$(realpath "$1")"
[ -f "$in" ] || { echo "$0: no such file: $1" >&2; exit 2; }
profile="$(mktemp -d "${TMPDIR:-/tmp}/binwatch-chromium-XXXXXX")"
trap 'rm -rf "$profile"' EXIT
flags=(
  --headless --no-sandbox --disable-gpu --hide-scrollbars --mute-audio
  --user-data-dir="$profile" --no-first-run --no-default-browser-check
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --disable-domain-reliability
  --disable-client-side-phishing-detection --metrics-recording-only --no-pings
  --disable-breakpad --disable-features=Translate,OptimizationHints,MediaRouter
  --host-resolver-rules="MAP * ~NOTFOUND"
  --force-device-scale-factor=1 --virtual-time-budget=5000
)
if [ "$mode" = dom ]; then
  exec 2>/dev/null  # Chromium logs D-Bus noise on stderr in containers
  "$chromium" "${flags[@]}" --dump-dom "file://$in"
  exit
fi
[ $# -ge 2 ] || usage
out="$(realpath -m "$2")"
size="${3:-1280x2000}"
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || usage
rm -f "$out"
"$chromium" "${flags[@]}" --window-size="${BASH_REMATCH[1]},${BASH_REMATCH[2]}" --screenshot="$out" \
  "file://$in" >/dev/null 2>"$profile/stderr" || { cat "$profile/stderr" >&2; exit 1; }
[ -s "$out" ] || { cat "$profile/stderr" >&2; echo "$0: no screenshot written" >&2; exit 1; }
echo "$out"
