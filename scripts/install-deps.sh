#!/usr/bin/env bash
# Installs every Debian package binwatch needs to build, test, benchmark and run its demo.
# Safe to run repeatedly; needs root (or sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config ninja-build
  clang libclang-rt-14-dev          # libFuzzer target (-fsanitize=fuzzer)
  libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev
  libtomlplusplus-dev               # policies/*.toml (network counter policy)
  libzstd-dev zlib1g-dev libdeflate-dev
  libboost-filesystem-dev
  libmariadb-dev libmysqlcppconn-dev
  libtomlplusplus-dev               # policies/*.toml (preflight thresholds), header-only
  mariadb-server mariadb-client
  zstd gzip time procps
  jq                                # bench: checks that binwatch report output is JSON
  chromium fonts-dejavu-core        # tests: headless screenshot of the HTML report (html-screenshot.sh)
  iproute2                          # netns_test: `ip netns add` for the listen-overflow test
  nftables                          # netns_test: a stateful rule turns conntrack on in a namespace
  libcpp-httplib-dev                # binwatch watch: the /metrics and /api/v1/status HTTP API, binwatch status
  libsystemd-dev                    # binwatch watch: sd_notify (Type=notify READY/STATUS/WATCHDOG)
  prometheus                        # tests: promtool check rules/metrics on docs/prometheus and a live scrape
  prometheus-alertmanager           # tests: alert delivery against a real Alertmanager 0.25 on loopback
  percona-toolkit                   # tests: pt-online-schema-change --pause-file, pt-archiver --sentinel and plugin
  curl                              # tests: a plain HTTP client honouring /check/{app} (freno API)
)
LIST=()
for p in "${PKGS[@]}"; do LIST+=("$p"); done
missing=()
for p in "${LIST[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#LIST[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
