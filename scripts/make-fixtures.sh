#!/usr/bin/env bash
# make-fixtures.sh: regenerates the small binlog fixtures under fixtures/mariadb-<major.minor>/.
#
#   scripts/make-fixtures.sh [--out DIR] [--only VARIANT]...
#
# For each variant below: a throwaway server (scripts/mariadb-test-server.sh) runs
# scripts/sql/typed-rows.sql with the session timestamp pinned, FLUSH BINARY LOGS, a clean
# shutdown, then the binlog files are copied into OUT/<variant>/ with:
#   README.md                 server version, exact settings, how it was made, per-file sizes
#   typed-rows.sql            the SQL that was run, and typed-rows.expected.json, its row counts
#   mariadb-bin.NNNNNN        the binlogs (closed cleanly: in-use flag clear, STOP at the end)
#   mariadb-bin.NNNNNN.events.tsv  offset, size and type byte of every event, walked here from the
#                             19-byte headers, with mariadb-binlog's label and table beside them
#   SHA256SUMS
# Row counts are checked against typed-rows.expected.json with `mariadb-binlog --verbose`, and each
# variant must stay under 200 KB; a variant that fails either check leaves the old fixture alone.
# Needs mariadb-server, mariadb-client and jq (scripts/install-deps.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly server_script="$root/scripts/mariadb-test-server.sh"
readonly sql="$root/scripts/sql/typed-rows.sql"
readonly expected="$root/scripts/sql/typed-rows.expected.json"
readonly max_bytes=$((200 * 1024))
readonly pinned_timestamp=1700000000 # 2023-11-14 22:13:20 UTC: event headers of the workload

# name|mariadb-test-server.sh options
readonly variants=(
  "crc32-full|--checksum CRC32 --row-image FULL --row-metadata NO_LOG --compress OFF"
  "none-minimal|--checksum NONE --row-image MINIMAL --row-metadata NO_LOG --compress OFF"
  "crc32-noblob-metadata-full|--checksum CRC32 --row-image NOBLOB --row-metadata FULL --compress OFF"
  "crc32-full-compressed|--checksum CRC32 --row-image FULL --row-metadata NO_LOG --compress ON"
)

die() { printf 'make-fixtures: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'make-fixtures: %s\n' "$*" >&2; }

out="" only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 ]] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a variant name"; only+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

for tool in jq mariadb mariadb-binlog od sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
[[ -f "$sql" && -f "$expected" ]] || die "missing $sql or $expected"

work="$(mktemp -d "${TMPDIR:-/tmp}/binwatch-fixtures-XXXXXX")"
server_dir=""
cleanup() {
  if [[ -n "$server_dir" ]]; then "$server_script" stop --dir "$server_dir" >/dev/null 2>&1 || true; fi
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# walk_events FILE: "offset size type" per event, from the common headers (type u8 at +4,
# event_size u32le at +9); fails on a header that does not fit the file.
walk_events() {
  local file="$1" size offset=4 type length
  size="$(stat -c %s "$file")"
  [[ "$(od -An -tx1 -N4 "$file" | tr -d ' \n')" == "fe62696e" ]] || die "$file: no binlog magic"
  while ((offset < size)); do
    ((offset + 19 <= size)) || die "$file: torn header at $offset"
    read -r type < <(od -An -tu1 -j $((offset + 4)) -N1 "$file")
    read -r length < <(od -An -tu4 --endian=little -j $((offset + 9)) -N4 "$file")
    ((length >= 19 && offset + length <= size)) || die "$file: bad event_size $length at $offset"
    printf '%s\t%s\t%s\n' "$offset" "$length" "$type"
    offset=$((offset + length))
  done
}

# events_tsv FILE: walk_events joined on end position with mariadb-binlog's header lines.
events_tsv() {
  local file="$1"
  printf '# offset\tsize\ttype\tmariadb-binlog label\ttable\n'
  awk -F'\t' '
    NR == FNR {
      # "#231114 22:13:20 server id 1  end_log_pos 1234 CRC32 0x...  \tTable_map: `bw`.`t` mapped to number 18"
      if (match($0, /end_log_pos [0-9]+/)) {
        end = substr($0, RSTART + 12, RLENGTH - 12)
        text = $0; sub(/^[^\t]*\t/, "", text)
        split(text, words, /[ :\t]+/)
        label = words[1]
        if (label == "Gtid" && words[2] == "list") label = "Gtid_list"
        if (label == "Binlog" && words[2] == "checkpoint") label = "Binlog_checkpoint"
        table = ""
        if (match(text, /Table_map: `[^`]*`\.`[^`]*` mapped to number [0-9]+/)) {
          t = substr(text, RSTART + 11, RLENGTH - 11)
          id = t; sub(/.* /, "", id)
          sub(/ mapped.*$/, "", t); gsub(/`/, "", t)
          table = t; tables[id] = t
        } else if (match(text, /table id [0-9]+/)) {
          id = substr(text, RSTART + 9, RLENGTH - 9); table = tables[id]
        }
        labels[end] = label; names[end] = table
      }
      next
    }
    {
      end = $1 + $2
      printf "%s\t%s\t%s\t%s\t%s\n", $1, $2, $3, (end in labels) ? labels[end] : "?", names[end]
    }
  ' <(mariadb-binlog --no-defaults --base64-output=DECODE-ROWS "$file" | grep -E '^#[0-9]{6} ') \
    <(walk_events "$file")
}

# count_rows FILE...: {"db.table": {"inserts": N, "updates": N, "deletes": N}} from mariadb-binlog -v.
count_rows() {
  mariadb-binlog --no-defaults --verbose --base64-output=DECODE-ROWS "$@" |
    awk '
      /^### INSERT INTO / { t = $4; op = "inserts" }
      /^### UPDATE / { t = $3; op = "updates" }
      /^### DELETE FROM / { t = $4; op = "deletes" }
      /^### (INSERT INTO|UPDATE|DELETE FROM) / { gsub(/`/, "", t); n[t, op]++; seen[t] = 1 }
      END {
        printf "{"; sep = ""
        for (t in seen) {
          printf "%s\"%s\":{\"inserts\":%d,\"updates\":%d,\"deletes\":%d}", sep, t,
            n[t, "inserts"], n[t, "updates"], n[t, "deletes"]
          sep = ","
        }
        printf "}\n"
      }'
}

make_variant() {
  local name="$1" options="$2" dest="$3"
  local -a opts
  read -ra opts <<<"$options"
  local stage="$work/$name"
  server_dir="$work/server-$name"
  mkdir -p "$stage"

  note "$name: starting a server ($options)"
  "$server_script" start --dir "$server_dir" --owner-pid $$ "${opts[@]}" >/dev/null 2>"$work/start.log" ||
    { cat "$work/start.log" >&2; die "$name: server did not start"; }
  local SOCKET BINLOG_DIR VERSION
  # shellcheck source=/dev/null
  SOCKET="$(source "$server_dir/env" && printf '%s' "$SOCKET")"
  # shellcheck source=/dev/null
  BINLOG_DIR="$(source "$server_dir/env" && printf '%s' "$BINLOG_DIR")"
  local client=(mariadb --no-defaults --user=root --socket="$SOCKET")
  VERSION="$("${client[@]}" --batch --skip-column-names --execute='SELECT VERSION()')"
  local settings
  settings="$("${client[@]}" --batch --skip-column-names --execute="SELECT CONCAT_WS('\n',
      CONCAT('binlog_format=', @@binlog_format), CONCAT('binlog_checksum=', @@binlog_checksum),
      CONCAT('binlog_row_image=', @@binlog_row_image), CONCAT('binlog_row_metadata=', @@binlog_row_metadata),
      CONCAT('log_bin_compress=', IF(@@log_bin_compress, 'ON', 'OFF')),
      CONCAT('log_bin_compress_min_len=', @@log_bin_compress_min_len),
      CONCAT('binlog_annotate_row_events=', IF(@@binlog_annotate_row_events, 'ON', 'OFF')),
      CONCAT('server_id=', @@server_id), CONCAT('gtid_domain_id=', @@gtid_domain_id),
      CONCAT('character_set_server=', @@character_set_server), CONCAT('time_zone=', @@global.time_zone))")"
  settings="$(printf '%b' "$settings")"

  { printf 'SET timestamp = %s;\n' "$pinned_timestamp"; cat "$sql"; } | "${client[@]}"
  "${client[@]}" --execute='FLUSH BINARY LOGS'
  "$server_script" stop --dir "$server_dir" --keep >/dev/null 2>&1

  local files=("$BINLOG_DIR"/mariadb-bin.[0-9]*)
  local counts
  counts="$(count_rows "${files[@]}")"
  if ! jq -e --argjson actual "$counts" '.tables == $actual' "$expected" >/dev/null; then
    jq -n --argjson actual "$counts" --slurpfile want "$expected" \
      '{expected: $want[0].tables, actual: $actual}' >&2
    die "$name: row counts differ from $expected"
  fi

  local file base total=0
  for file in "${files[@]}"; do
    base="$(basename "$file")"
    install -m 0644 -- "$file" "$stage/$base"
    events_tsv "$file" >"$stage/$base.events.tsv"
    total=$((total + $(stat -c %s "$file")))
  done
  install -m 0644 -- "$sql" "$expected" "$stage/"
  ((total < max_bytes)) || die "$name: binlogs total $total bytes, over the $max_bytes-byte budget"
  grep -q $'\t?\t' "$stage"/*.events.tsv && die "$name: mariadb-binlog and the header walk disagree"

  local table_rows="" bytes
  for file in "${files[@]}"; do
    base="$(basename "$file")"
    bytes="$(stat -c %s "$file")"
    table_rows+="| $base | $bytes | $(grep -vc '^#' "$stage/$base.events.tsv") |"$'\n'
  done
  cat >"$stage/README.md" <<EOF
# $name

Binlogs written by MariaDB \`$VERSION\` (Debian 12 package) for binwatch tests.
Regenerate all variants with \`scripts/make-fixtures.sh\`; do not edit by hand.

## Server settings (as reported by the server)

\`\`\`
$settings
\`\`\`

Started by \`scripts/mariadb-test-server.sh start $options\`
(mariadbd --no-defaults, log-bin, binlog_format=ROW, server_id=1, character_set_server=utf8mb4,
time zone +00:00, everything else at the server's defaults).

## Workload

\`typed-rows.sql\` (copied here) through the \`mariadb\` client, preceded by
\`SET timestamp = $pinned_timestamp\` so the workload's event headers carry a fixed time; then
\`FLUSH BINARY LOGS\` and a clean shutdown: the last file holds only start-up events and STOP.
\`typed-rows.expected.json\` gives the rows per table and operation; \`mariadb-binlog --verbose\`
agreed with it when these files were made.

## Files

| file | bytes | events |
|---|---:|---:|
${table_rows}
\`*.events.tsv\`: one line per event: offset, size, type byte (walked from the 19-byte headers),
the label \`mariadb-binlog\` prints for the event ending there, and the table (TABLE_MAP and
rows events). \`SHA256SUMS\` covers the binlogs.
EOF
  (cd "$stage" && sha256sum -- mariadb-bin.[0-9]* >SHA256SUMS)

  "$server_script" stop --dir "$server_dir" >/dev/null 2>&1
  server_dir=""
  rm -rf -- "${dest:?}.new"
  mv -- "$stage" "$dest.new"
  rm -rf -- "$dest"
  mv -- "$dest.new" "$dest"
  note "$name: $total bytes in ${#files[@]} files -> ${dest#"$root"/}"
}

version="$(mariadbd_bin="$(command -v mariadbd || echo /usr/sbin/mariadbd)"; "$mariadbd_bin" --no-defaults --version)"
series="$(sed -n 's/.*Ver \([0-9]*\.[0-9]*\)\..*/\1/p' <<<"$version")"
[[ -n "$series" ]] || die "cannot read the MariaDB version from: $version"
out="${out:-$root/fixtures/mariadb-$series}"
mkdir -p -- "$out"

done_any=0
for entry in "${variants[@]}"; do
  name="${entry%%|*}"
  if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " == *" $name "* ]]; then continue; fi
  make_variant "$name" "${entry#*|}" "$out/$name"
  done_any=1
done
[[ "$done_any" -eq 1 ]] || die "no variant matched --only ${only[*]}"

cat >"$out/README.md" <<EOF
# Binlog fixtures from MariaDB $series

Small binlogs binwatch generated itself with \`scripts/make-fixtures.sh\`, one directory per
binlog variant, each with its own README (server version, exact settings, workload) and
\`*.events.tsv\` event walk. All run the same workload, \`scripts/sql/typed-rows.sql\`, so every
variant must decode to the row counts in \`typed-rows.expected.json\`.

| directory | binlog_checksum | binlog_row_image | binlog_row_metadata | log_bin_compress |
|---|---|---|---|---|
| crc32-full | CRC32 | FULL | NO_LOG | OFF |
| none-minimal | NONE | MINIMAL | NO_LOG | OFF |
| crc32-noblob-metadata-full | CRC32 | NOBLOB | FULL | OFF |
| crc32-full-compressed | CRC32 | FULL | NO_LOG | ON (min_len 10) |
EOF
note "fixtures in ${out#"$root"/}"
