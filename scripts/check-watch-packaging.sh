#!/usr/bin/env bash
# Checks what ships for `binwatch watch` besides the code:
#   systemd/binwatch.service   systemd-analyze verify (ExecStart pointed at the built binary)
#   systemd/binwatch.toml      binwatch check-config
#   docs/prometheus/*.yml      promtool check rules, promtool test rules (binwatch-rules.test.yml)
#   docs/prometheus/*.json     valid JSON (Grafana dashboard)
# Usage: scripts/check-watch-packaging.sh BINWATCH_EXE. Exit 0 ok, 1 a check failed, 77 when
# neither systemd-analyze nor promtool is installed (ctest SKIP_RETURN_CODE).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exe="$(realpath "${1:?usage: $0 BINWATCH_EXE}")"
ran=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$exe" check-config "$root/systemd/binwatch.toml"
python3 -m json.tool "$root/docs/prometheus/binwatch-dashboard.json" > /dev/null
echo "ok: dashboard JSON"

if command -v systemd-analyze > /dev/null; then
  sed "s|^ExecStart=/usr/bin/binwatch |ExecStart=$exe |" "$root/systemd/binwatch.service" > "$tmp/binwatch.service"
  # verify prints problems on stderr and may exit 0 anyway: any output about our unit fails.
  out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/binwatch.service" 2>&1 || echo "exit $?")"
  out="$(printf '%s\n' "$out" | grep -v -e '^$' -e 'Failed to connect to bus' -e 'Cannot find unit for notify-reload' || true)"
  if [ -n "$out" ]; then
    echo "systemd-analyze verify binwatch.service:"; echo "$out"; exit 1
  fi
  echo "ok: systemd-analyze verify binwatch.service"
  ran=1
fi

if command -v promtool > /dev/null; then
  promtool check rules "$root/docs/prometheus/binwatch-rules.yml"
  (cd "$root/docs/prometheus" && promtool test rules binwatch-rules.test.yml)
  ran=1
fi
[ "$ran" = 1 ] || { echo "neither systemd-analyze nor promtool installed: skipped"; exit 77; }
