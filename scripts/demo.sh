#!/usr/bin/env bash
# demo.sh: where do the binlog bytes go? A throwaway MariaDB runs scripts/sql/demo-workload.sql
# (a blog whose fat `posts` rows carry a comments counter cache), rotates its binlog and shows
# `binwatch report` over the files. The server is stopped and removed on any exit.
#
#   scripts/demo.sh [--format table|json] [options for mariadb-test-server.sh start ...]
#
# e.g. `scripts/demo.sh --row-image MINIMAL` to compare with FULL row images, or
# `scripts/demo.sh --compress ON`.
# Unless BINWATCH=path/to/binwatch is given, it first installs the Debian packages and builds
# (scripts/build.sh), so on a fresh machine this one command does all the set-up.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly server_script="$root/scripts/mariadb-test-server.sh"
readonly workload="$root/scripts/sql/demo-workload.sql"
binwatch="${BINWATCH:-$root/build/binwatch}"

die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
say() { printf '\n== %s\n' "$*"; }

format=table
server_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --format) [[ $# -ge 2 ]] || die "--format needs table or json"; format="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --dir | --owner-pid) die "$1 is chosen by the demo" ;;
    *) server_args+=("$1"); shift ;;
  esac
done
case "$format" in table | json) ;; *) die "--format must be table or json, got '$format'" ;; esac
if [[ -z "${BINWATCH:-}" ]]; then
  say "installing packages and building (scripts/build.sh)"
  bash "$root/scripts/build.sh" >&2
fi
command -v mariadb >/dev/null || die "mariadb (the client) not found: run scripts/install-deps.sh"

dir="$(mktemp -d "${TMPDIR:-/tmp}/binwatch-demo-XXXXXX")"
cleanup() { "$server_script" stop --dir "$dir" >/dev/null 2>&1 || rm -rf -- "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting a private MariaDB in $dir"
# --owner-pid: should this shell be killed outright, the watchdog still stops the server.
"$server_script" start --dir "$dir" --owner-pid $$ "${server_args[@]}"
# shellcheck source=/dev/null
source "$dir/env"
client=(mariadb --no-defaults --user=root --socket="$SOCKET")

say "running ${workload#"$root"/}"
started=$(date +%s%N)
"${client[@]}" <"$workload"
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
"${client[@]}" --execute='FLUSH BINARY LOGS'
printf 'workload took %d ms; the tables now:\n' "$elapsed_ms"
"${client[@]}" --table --execute="SELECT t.table_name, c.row_count, t.data_length + t.index_length AS bytes_on_disk
  FROM information_schema.tables t JOIN (
    SELECT 'comments' AS name, COUNT(*) AS row_count FROM demo.comments
    UNION ALL SELECT 'posts', COUNT(*) FROM demo.posts
    UNION ALL SELECT 'sessions', COUNT(*) FROM demo.sessions
    UNION ALL SELECT 'users', COUNT(*) FROM demo.users) c ON c.name = t.table_name
  WHERE t.table_schema = 'demo' ORDER BY t.table_name"

files=()
while IFS=$'\t' read -r name _; do
  files+=("$BINLOG_DIR/$name")
done < <("${client[@]}" --batch --skip-column-names --execute='SHOW BINARY LOGS')
[[ ${#files[@]} -gt 0 ]] || die "the server lists no binlog files"

say "binlog files (settings: $("${client[@]}" --batch --skip-column-names --execute="SELECT CONCAT_WS(' ',
    CONCAT('binlog_checksum=', @@binlog_checksum), CONCAT('binlog_row_image=', @@binlog_row_image),
    CONCAT('log_bin_compress=', IF(@@log_bin_compress, 'ON', 'OFF')))"))"
ls -l -- "${files[@]}"

say "$(basename "$binwatch") report --format $format <${#files[@]} files>"
if [[ ! -x "$binwatch" ]]; then
  die "$binwatch not found or not executable: build it first (cmake -S . -B build && cmake --build build) or set BINWATCH=/path/to/binwatch"
fi
"$binwatch" report --format "$format" "${files[@]}"
