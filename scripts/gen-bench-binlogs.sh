#!/usr/bin/env bash
# gen-bench-binlogs.sh: generate the binlog set that bench/report_vs_mysqlbinlog measures.
#
#   scripts/gen-bench-binlogs.sh [--size-gb 1.1] [--out DIR] [--force]
#
# Starts a private MariaDB (its own temporary datadir, socket and 127.0.0.1 port,
# --no-defaults, --user=root; never touches a system server), with
#   binlog_format=ROW  binlog_checksum=CRC32  binlog_row_image=FULL  max_binlog_size=256M
# and replays a SoundCloud-2011-style workload (see docs/benchmarks.md) until the binary
# logs hold at least --size-gb GB (10^9 bytes; the default 1.1 GB is also more than 1 GiB):
#   * `groups`: ~2000 fat rows, each with a 5-50 KB TEXT description plus its cached HTML
#     copy, rewritten over and over by counter-cache style single-row UPDATEs in their own
#     transactions (posts_count - 1, then updated_at = NOW()): the full before and after
#     image of every fat row lands in the binlog. This table dominates the bytes.
#   * `posts`, `memberships`, `track_contributions`: narrow tables with many small rows
#     (bulk INSERT ... SELECT from seq_1_to_N, bulk UPDATEs and DELETEs, single-row DELETEs)
#     so that a decoder's per-row path is exercised too.
# Then FLUSH BINARY LOGS, moves the closed binlog files to DIR (default build/bench-data),
# writes DIR/bench-data.stamp, stops the server and removes its datadir.
#
# Cache: if DIR already holds a complete set (stamp present, same generator version, all
# listed files present at their recorded sizes, total >= the requested size) it is reused
# and nothing is started. --force regenerates.
set -euo pipefail

readonly GEN_VERSION=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly STAMP_NAME="bench-data.stamp"

SIZE_GB="1.1"
OUT="$ROOT/build/bench-data"
FORCE=0

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --size-gb) SIZE_GB="${2:?--size-gb needs a value}"; shift 2 ;;
    --size-gb=*) SIZE_GB="${1#*=}"; shift ;;
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) OUT="${1#*=}"; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gen-bench-binlogs: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'gen-bench-binlogs: %s\n' "$*"; }
die() { printf 'gen-bench-binlogs: error: %s\n' "$*" >&2; exit 1; }

if ! [[ "$SIZE_GB" =~ ^[0-9]+([.][0-9]+)?$ ]]; then die "--size-gb must be a positive number, got '$SIZE_GB'"; fi
TARGET_BYTES=$(awk -v g="$SIZE_GB" 'BEGIN { printf "%.0f", g * 1e9 }')
[ "$TARGET_BYTES" -gt 0 ] || die "--size-gb must be > 0"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
STAMP="$OUT/$STAMP_NAME"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# ---------------------------------------------------------------------------------------
# Cache check: the stamp lists every file with its size; all must still match.
cache_ok() {
  [ -f "$STAMP" ] || return 1
  grep -qx "generator_version=$GEN_VERSION" "$STAMP" || return 1
  local total=0 name size actual n=0
  while read -r name size; do
    [ -f "$OUT/$name" ] || return 1
    actual=$(stat -c %s "$OUT/$name")
    [ "$actual" = "$size" ] || return 1
    total=$((total + size)); n=$((n + 1))
  done < <(sed -n 's/^file=//p' "$STAMP")
  [ "$n" -gt 0 ] && [ "$total" -ge "$TARGET_BYTES" ] || return 1
  CACHED_TOTAL=$total; CACHED_FILES=$n
}

if [ "$FORCE" -eq 0 ] && cache_ok; then
  say "reusing $OUT: $CACHED_FILES files, $(mb "$CACHED_TOTAL") (>= $(mb "$TARGET_BYTES") requested; --force to regenerate)"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# Private server.
for tool in mariadbd mariadb-install-db mariadb mariadb-admin; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool not found (run scripts/install-deps.sh)"
done
MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

# Private scratch space next to nothing shared; the socket path must stay short (< 108 bytes).
TMP="$(mktemp -d /tmp/binwatch-gen.XXXXXX)"
SOCK="$TMP/mysqld.sock"
SERVER_PID=""

cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -f "$TMP/error.log" ]; then
    echo "gen-bench-binlogs: last lines of the server error log:" >&2
    tail -n 20 "$TMP/error.log" >&2 || true
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if port_free "$p"; then PORT=$p; break; fi
done
[ -n "$PORT" ] || die "no free TCP port found on 127.0.0.1"

T0=$SECONDS
say "target $(mb "$TARGET_BYTES") of binlogs; private server in $TMP (port $PORT)"
mkdir -p "$TMP/data" "$TMP/binlog" "$TMP/tmp"
mariadb-install-db --no-defaults --user=root --datadir="$TMP/data" \
  --auth-root-authentication-method=normal --skip-test-db >"$TMP/install.log" 2>&1 \
  || { tail -n 20 "$TMP/install.log" >&2; die "mariadb-install-db failed"; }

"$MARIADBD" --no-defaults --user=root \
  --datadir="$TMP/data" --socket="$SOCK" --port="$PORT" --bind-address=127.0.0.1 \
  --pid-file="$TMP/mysqld.pid" --log-error="$TMP/error.log" --tmpdir="$TMP/tmp" \
  --skip-name-resolve \
  --server-id=1 --log-bin="$TMP/binlog/binlog" \
  --binlog-format=ROW --binlog-checksum=CRC32 --binlog-row-image=FULL \
  --max-binlog-size=256M --sync-binlog=0 \
  --innodb-buffer-pool-size=512M --innodb-log-file-size=512M \
  --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
  --max-allowed-packet=64M >/dev/null 2>&1 &
SERVER_PID=$!

sqlc() { mariadb --no-defaults --user=root --socket="$SOCK" --batch --skip-column-names "$@"; }
for i in $(seq 1 300); do
  if sqlc -e 'SELECT 1' >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || die "mariadbd exited during start-up"
  [ "$i" -lt 300 ] || die "mariadbd did not answer within 60 s"
  sleep 0.2
done
say "server $(sqlc -e 'SELECT VERSION()') up after $((SECONDS - T0)) s"

sql() { sqlc bench -e "$1"; }
binlog_bytes() { sqlc -e 'SHOW BINARY LOGS' | awk '{ s += $2 } END { printf "%.0f", s }'; }
binlog_files() { sqlc -e 'SHOW BINARY LOGS' | wc -l; }

# ---------------------------------------------------------------------------------------
# Schema. `groups` mirrors the SoundCloud table: fat TEXT plus a cached HTML copy and
# counter-cache columns. The narrow tables are the associations whose rows are small.
readonly N_GROUPS=2000
sqlc -e "CREATE DATABASE bench"
sql "
CREATE TABLE \`groups\` (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description TEXT NOT NULL,
  description_html TEXT NOT NULL,
  posts_count INT NOT NULL DEFAULT 0,
  tracks_count INT NOT NULL DEFAULT 0,
  members_count INT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE posts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  group_id INT NOT NULL,
  user_id INT NOT NULL,
  created_at DATETIME NOT NULL,
  title VARCHAR(40) NOT NULL,
  KEY (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE memberships (
  user_id INT NOT NULL,
  group_id INT NOT NULL,
  role TINYINT NOT NULL,
  created_at DATETIME NOT NULL,
  PRIMARY KEY (user_id, group_id),
  KEY (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE track_contributions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  track_id INT NOT NULL,
  group_id INT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"

# What Group#destroy with :dependent => :destroy and :counter_cache => true sends: for each
# associated object, DELETE it, then decrement the group's counter, then touch updated_at,
# each statement its own transaction. Every UPDATE logs the whole fat row twice.
sqlc bench <<SQL
DELIMITER //
CREATE PROCEDURE destroy_spam(IN p_iters INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE g INT;
  WHILE i < p_iters DO
    SET g = 1 + FLOOR(RAND() * $N_GROUPS);
    CASE i MOD 3
      WHEN 0 THEN
        DELETE FROM posts WHERE group_id = g LIMIT 1;
        UPDATE \`groups\` SET posts_count = posts_count - 1 WHERE id = g;
      WHEN 1 THEN
        DELETE FROM track_contributions WHERE group_id = g LIMIT 1;
        UPDATE \`groups\` SET tracks_count = tracks_count - 1 WHERE id = g;
      ELSE
        DELETE FROM memberships WHERE group_id = g LIMIT 1;
        UPDATE \`groups\` SET members_count = members_count - 1 WHERE id = g;
    END CASE;
    UPDATE \`groups\` SET updated_at = NOW(6) WHERE id = g;
    SET i = i + 1;
  END WHILE;
END//
SQL

# Fat rows: 5,016 to 49,995 bytes of spam text (a 33-byte chunk repeated), plus its HTML copy.
say "inserting $N_GROUPS fat groups rows (5-50 KB TEXT each)"
for first in $(seq 1 500 "$N_GROUPS"); do
  last=$((first + 499))
  sql "
  INSERT INTO \`groups\` (id, name, description, description_html, created_at, updated_at)
  SELECT seq, CONCAT('group-', seq), d, CONCAT('<div class=\"description\"><p>', d, '</p></div>'),
         NOW() - INTERVAL seq MINUTE, NOW(6)
  FROM (SELECT seq, REPEAT(CONCAT(MD5(RAND()), ' '), 152 + FLOOR(RAND() * 1364)) AS d
        FROM seq_${first}_to_${last}) AS t"
done
say "$(mb "$(binlog_bytes)") after the fat inserts ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------------------------------
# Rounds of ~100 MB: ~17 MB of narrow-row traffic (~550k small rows) and ~85 MB of fat
# counter-cache UPDATEs, until the target is reached.
readonly NARROW_ROWS=150000
readonly FAT_ITERS=390        # each iteration: 1 narrow DELETE + 2 fat UPDATEs (~220 KB)
round=0
total=$(binlog_bytes)
while [ "$total" -lt "$TARGET_BYTES" ]; do
  round=$((round + 1))
  base=$((round * 1000000))
  sql "
  INSERT INTO posts (group_id, user_id, created_at, title)
    SELECT 1 + seq MOD $N_GROUPS, FLOOR(RAND() * 1000000), NOW() - INTERVAL seq SECOND,
           CONCAT('post ', $base + seq)
    FROM seq_1_to_$NARROW_ROWS;
  INSERT INTO memberships (user_id, group_id, role, created_at)
    SELECT $base + seq, 1 + seq MOD $N_GROUPS, seq MOD 3, NOW() - INTERVAL seq SECOND
    FROM seq_1_to_$((NARROW_ROWS * 2 / 3));
  INSERT INTO track_contributions (track_id, group_id)
    SELECT FLOOR(RAND() * 10000000), 1 + seq MOD $N_GROUPS
    FROM seq_1_to_$((NARROW_ROWS * 2 / 3));
  SET @last_post = (SELECT MAX(id) FROM posts);
  UPDATE posts SET title = CONCAT(title, ' (edited)')
    WHERE id > @last_post - $((NARROW_ROWS * 2 / 3));
  DELETE FROM memberships WHERE user_id BETWEEN $base + 1 AND $base + $((NARROW_ROWS / 3));
  CALL destroy_spam($FAT_ITERS);"
  total=$(binlog_bytes)
  say "round $round: $(mb "$total") of $(mb "$TARGET_BYTES") in $(binlog_files) file(s), $((SECONDS - T0)) s"
done

# ---------------------------------------------------------------------------------------
# Close the last file and move every closed one out; the fresh active file stays behind.
sqlc -e "FLUSH BINARY LOGS"
mapfile -t ALL < <(sqlc -e 'SHOW BINARY LOGS' | awk '{ print $1 }')
CLOSED=("${ALL[@]:0:${#ALL[@]}-1}")
VERSION="$(sqlc -e 'SELECT VERSION()')"
CHECKSUM="$(sqlc -e 'SELECT @@binlog_checksum')"
FORMAT="$(sqlc -e 'SELECT @@binlog_format')"

say "stopping the server"
mariadb-admin --no-defaults --user=root --socket="$SOCK" shutdown >/dev/null 2>&1 || kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

rm -f "$STAMP" "$OUT"/binlog.[0-9]*
total=0
for f in "${CLOSED[@]}"; do
  mv "$TMP/binlog/$f" "$OUT/$f"
  total=$((total + $(stat -c %s "$OUT/$f")))
done
{
  echo "generator_version=$GEN_VERSION"
  echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "server=$VERSION"
  echo "binlog_format=$FORMAT"
  echo "binlog_checksum=$CHECKSUM"
  echo "max_binlog_size=256M"
  echo "requested_bytes=$TARGET_BYTES"
  echo "total_bytes=$total"
  echo "generation_seconds=$((SECONDS - T0))"
  for f in "${CLOSED[@]}"; do echo "file=$f $(stat -c %s "$OUT/$f")"; done
} >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
say "done: ${#CLOSED[@]} files, $(mb "$total") in $OUT ($((SECONDS - T0)) s)"
