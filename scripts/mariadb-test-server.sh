#!/usr/bin/env bash
# mariadb-test-server.sh: a throwaway private MariaDB for binwatch tests, demos and fixtures.
#
#   mariadb-test-server.sh start  --dir DIR [--port N] [--checksum CRC32|NONE]
#                                 [--row-image FULL|MINIMAL|NOBLOB] [--row-metadata NO_LOG|MINIMAL|FULL]
#                                 [--compress ON|OFF] [--max-binlog-size BYTES] [--binlog-dir DIR]
#                                 [--server-id N]
#                                 [--extra 'key=value' ...] [--timeout SECONDS] [--owner-pid PID]
#   mariadb-test-server.sh stop   --dir DIR [--keep] [--kill] [--timeout SECONDS]
#   mariadb-test-server.sh status --dir DIR
#
# start: `mariadb-install-db --no-defaults` into DIR/data, then `mariadbd --no-defaults` in its own
#   session with ROW binlogs in DIR/binlog (or --binlog-dir, made if missing) and the requested
#   variant (defaults: CRC32, FULL, NO_LOG, OFF, 1 GiB files, server id 1: give a replica another
#   one); waits until it answers a ping and
#   writes DIR/env (SOCKET= PORT= DATADIR= BINLOG_DIR= PID= LOG= VERSION= ...) for `source DIR/env`.
#   Connect as root with no password, over SOCKET from any OS user, or to 127.0.0.1:PORT.
#   Port 0 or no --port picks a free port (retried if another process takes it first).
#   --extra 'key=value' passes --key=value to mariadbd. With --owner-pid, a watchdog stops the
#   server and removes DIR as soon as that process is gone, however it died. Starting a running
#   server with the same settings is a no-op; a DIR kept by `stop --keep` restarts on its data.
# stop: SHUTDOWN (what `mariadb-admin shutdown` sends), SIGTERM after --timeout (default 60 s),
#   SIGKILL 10 s later (--kill: SIGKILL at once); then removes DIR, and the binlog dir if this
#   script made it (or else only its mariadb-bin.* files), unless --keep. Stopping a DIR that does
#   not exist succeeds.
# status: exit 0 and print DIR/env when the server answers, exit 3 when it does not.
#
# Environment: MARIADBD, MARIADB_INSTALL_DB, MARIADB_ADMIN, MARIADB_CLIENT override the programs
# (default: found on PATH, then in /usr/sbin and /usr/bin). A fresh system database is copied
# from a seed cache (default ${TMPDIR:-/tmp}/binwatch-mariadb-seed-$UID, one ~26 MB entry per
# server version) instead of running mariadb-install-db each time; BINWATCH_MARIADB_SEED_CACHE
# sets another folder, or `off`.
set -euo pipefail

readonly kProg="mariadb-test-server"
readonly kMarker=".binwatch-test-server"
readonly kBinlogBase="mariadb-bin"
self="$(realpath -- "${BASH_SOURCE[0]}")"
readonly self

die() { printf '%s: error: %s\n' "$kProg" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$kProg" "$*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$self"; }

find_bin() {  # find_bin OVERRIDE NAME...: first executable among the override and NAME on PATH/sbin/bin
  local override="$1" name found
  shift
  if [[ -n "$override" ]]; then
    [[ -x "$override" ]] || die "$override is not executable"
    printf '%s\n' "$override"
    return
  fi
  for name in "$@"; do
    if found="$(command -v "$name")"; then printf '%s\n' "$found"; return; fi
    for found in "/usr/sbin/$name" "/usr/bin/$name"; do
      if [[ -x "$found" ]]; then printf '%s\n' "$found"; return; fi
    done
  done
  die "cannot find $* (install mariadb-server and mariadb-client: scripts/install-deps.sh)"
}

# alive PID: the process exists and is not a zombie.
alive() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] && [[ "$1" -gt 0 ]] || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != "Z" ]]
}

# is_our_mariadbd PID DATADIR: PID is a live mariadbd serving DATADIR (guards against reused PIDs).
is_our_mariadbd() {
  alive "$1" || return 1
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "--datadir=$2"
}

# port_in_use PORT: some TCP socket (v4 or v6, any state) has PORT as its local port.
port_in_use() {
  local hex
  hex="$(printf ':%04X ' "$1")"
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2" "}' | grep -qF -- "$hex"
}

# pick_port: a free port below the ephemeral range, so outgoing connections cannot take it meanwhile.
pick_port() {
  local low=32768 high tries port
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [[ "$low" -gt 11000 ]] || low=61000 high=65535 # unusual ranges: use the top instead
  for ((tries = 0; tries < 200; tries++)); do
    if [[ "$low" -eq 61000 ]]; then
      port=$((61000 + RANDOM % (high - 61000)))
    else
      port=$((10000 + RANDOM % (low - 10000)))
    fi
    port_in_use "$port" || { printf '%s\n' "$port"; return; }
  done
  die "no free TCP port found"
}

ping_server() {  # ping_server SOCKET
  "$admin_bin" --no-defaults --user=root --socket="$1" --connect-timeout=2 ping >/dev/null 2>&1
}

print_log_tail() {  # print_log_tail FILE
  if [[ -s "$1" ]]; then
    printf -- '---- last lines of %s ----\n' "$1" >&2
    tail -n 30 "$1" >&2
    printf -- '----\n' >&2
  fi
}

# write_env FILE: DIR/env, written atomically, shell-quoted so callers can `source` it.
write_env() {
  local tmp="$1.tmp"
  {
    printf '# written by %s; source this file\n' "$self"
    printf 'STATE=%q\n' "$state"
    printf 'DIR=%q\n' "$dir"
    printf 'SOCKET=%q\n' "$socket"
    printf 'PORT=%q\n' "$port"
    printf 'DATADIR=%q\n' "$datadir"
    printf 'BINLOG_DIR=%q\n' "$binlog_dir"
    printf 'BINLOG_BASENAME=%q\n' "$binlog_dir/$kBinlogBase"
    printf 'PID=%q\n' "$server_pid"
    printf 'WATCHDOG_PID=%q\n' "$watchdog_pid"
    printf 'LOG=%q\n' "$errlog"
    printf 'VERSION=%q\n' "$version"
    printf 'SETTINGS=%q\n' "$settings"
  } >"$tmp"
  mv -f -- "$tmp" "$1"
}

# load_env DIR: reads DIR/env into env_* variables; returns 1 when there is none.
load_env() {
  env_pid="" env_socket="" env_settings="" env_binlog_dir=""
  [[ -f "$1/env" ]] || return 1
  env_pid="$(
    # shellcheck source=/dev/null
    source "$1/env"
    printf '%s\n%s\n%s\n%s' "${PID:-}" "${SOCKET:-}" "${SETTINGS:-}" "${BINLOG_DIR:-}"
  )"
  { read -r env_pid; read -r env_socket; read -r env_settings; read -r env_binlog_dir; } <<<"$env_pid" || true
}

# ---------------------------------------------------------------------------------------- arguments
cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start | stop | status | __watchdog) ;;
  -h | --help | help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown command '$cmd' (start|stop|status)" ;;
esac

dir="" port=0 port_given=0 checksum=CRC32 row_image=FULL row_metadata=NO_LOG compress=OFF
max_binlog_size="" binlog_dir="" server_id=1 keep=0 kill_now=0 timeout=60 owner_pid="" watched_pid=""
extras=()
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) need_arg "$@"; dir="$2"; shift 2 ;;
    --port) need_arg "$@"; port="$2"; port_given=1; shift 2 ;;
    --checksum) need_arg "$@"; checksum="${2^^}"; shift 2 ;;
    --row-image) need_arg "$@"; row_image="${2^^}"; shift 2 ;;
    --row-metadata) need_arg "$@"; row_metadata="${2^^}"; shift 2 ;;
    --compress) need_arg "$@"; compress="${2^^}"; shift 2 ;;
    --max-binlog-size) need_arg "$@"; max_binlog_size="$2"; shift 2 ;;
    --binlog-dir) need_arg "$@"; binlog_dir="$2"; shift 2 ;;
    --server-id) need_arg "$@"; server_id="$2"; shift 2 ;;
    --extra) need_arg "$@"; extras+=("$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    --kill) kill_now=1; shift ;;
    --timeout) need_arg "$@"; timeout="$2"; shift 2 ;;
    --owner-pid) need_arg "$@"; owner_pid="$2"; shift 2 ;;
    --watched-pid) need_arg "$@"; watched_pid="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[[ -n "$dir" ]] || die "--dir DIR is required"
dir="$(realpath -m -- "$dir")"
[[ "$dir" != "/" ]] || die "--dir must not be /"
[[ "$port" =~ ^[0-9]{1,5}$ && "$port" -le 65535 ]] || die "--port must be 0..65535, got '$port'"
[[ "$port" -ne 0 ]] || port_given=0
[[ "$timeout" =~ ^[0-9]{1,6}$ && "$timeout" -gt 0 ]] || die "--timeout must be a positive number of seconds"
[[ "$server_id" =~ ^[0-9]{1,9}$ && "$server_id" -gt 0 ]] || die "--server-id must be 1..999999999, got '$server_id'"
case "$checksum" in
  CRC32 | NONE) ;;
  *) die "--checksum must be CRC32 or NONE, got '$checksum'" ;;
esac
case "$row_image" in
  FULL | MINIMAL | NOBLOB) ;;
  *) die "--row-image must be FULL, MINIMAL or NOBLOB, got '$row_image'" ;;
esac
case "$row_metadata" in
  NO_LOG | MINIMAL | FULL) ;;
  *) die "--row-metadata must be NO_LOG, MINIMAL or FULL, got '$row_metadata'" ;;
esac
case "$compress" in
  ON | OFF) ;;
  1 | TRUE) compress=ON ;;
  0 | FALSE) compress=OFF ;;
  *) die "--compress must be ON or OFF, got '$compress'" ;;
esac
if [[ -n "$max_binlog_size" ]]; then
  if [[ ! "$max_binlog_size" =~ ^[0-9]{1,10}$ ]] || ((max_binlog_size < 4096 || max_binlog_size > 1073741824)); then
    die "--max-binlog-size must be 4096..1073741824 bytes, got '$max_binlog_size'"
  fi
fi
for e in "${extras[@]}"; do
  [[ "$e" =~ ^[A-Za-z][A-Za-z0-9_.-]*(=.*)?$ ]] ||
    die "--extra wants 'key=value' (a mariadbd option without the --), got '$e'"
done
# (The watchdog itself must run even when the owner died while `start` was still busy.)
if [[ "$cmd" == start && -n "$owner_pid" ]]; then
  alive "$owner_pid" || die "--owner-pid $owner_pid is not a running process"
fi

datadir="$dir/data"
socket="$dir/mysqld.sock"
errlog="$dir/mysqld.err"
pidfile="$dir/mysqld.pid"
binlog_dir="$(realpath -m -- "${binlog_dir:-$dir/binlog}")"
# sun_path holds 108 bytes including the NUL; mariadbd fails late and vaguely past that.
[[ ${#socket} -le 107 ]] || die "socket path $socket is longer than 107 bytes: use a shorter --dir"

# The settings a running server must have for `start` to be a no-op.
settings="checksum=$checksum row_image=$row_image row_metadata=$row_metadata compress=$compress"
settings+=" max_binlog_size=${max_binlog_size:-default} binlog_dir=$binlog_dir server_id=$server_id extra=${extras[*]:-}"
[[ "$port_given" -eq 0 ]] || settings+=" port=$port"

# ---------------------------------------------------------------------------------------- stop
# stop_server PID SOCKET: graceful shutdown, then SIGTERM, then SIGKILL; returns once PID is gone.
# With --kill, SIGKILL at once: for servers whose data is deleted anyway (the watchdog's case).
stop_server() {
  local pid="$1" sock="$2" waited deadline shutdown_sent=0
  if ! is_our_mariadbd "$pid" "$datadir"; then return 0; fi
  if [[ "$kill_now" -eq 0 ]]; then
    # SQL SHUTDOWN is what `mariadb-admin shutdown` sends, minus its 1-second pid-file polling. A
    # server still starting takes no connections yet: keep trying until it does rather than send
    # SIGTERM, which mariadbd 10.11 can miss half-way through start-up and then hang.
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
      is_our_mariadbd "$pid" "$datadir" || return 0
      if [[ "$shutdown_sent" -eq 0 ]] &&
        "$client_bin" --no-defaults --user=root --socket="$sock" --connect-timeout=2 \
          --execute=SHUTDOWN >/dev/null 2>&1; then
        shutdown_sent=1
      fi
      sleep 0.05
    done
    note "mariadbd $pid did not shut down within ${timeout}s; sending SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    for ((waited = 0; waited < 100; waited++)); do
      is_our_mariadbd "$pid" "$datadir" || return 0
      sleep 0.1
    done
    note "mariadbd $pid ignored SIGTERM; sending SIGKILL"
  fi
  kill -KILL "$pid" 2>/dev/null || true
  for ((waited = 0; waited < 100; waited++)); do
    alive "$pid" || return 0
    sleep 0.05
  done
  die "mariadbd $pid survived SIGKILL"
}

remove_dirs() {  # remove_dirs BINLOG_DIR: DIR, and the binlog dir or our files in it when it is outside DIR
  local bdir="$1"
  if [[ -n "$bdir" && "$bdir/" != "$dir/"* && -d "$bdir" ]]; then
    if [[ -f "$bdir/$kMarker" ]]; then
      rm -rf -- "$bdir"
    else
      rm -f -- "$bdir/$kBinlogBase".[0-9]* "$bdir/$kBinlogBase.index" "$bdir/$kBinlogBase.state"
    fi
  fi
  rm -rf -- "$dir"
}

cmd_stop() {
  client_bin="$(find_bin "${MARIADB_CLIENT:-}" mariadb mysql)"
  if [[ ! -e "$dir" ]]; then
    note "nothing to stop: $dir does not exist"
    return 0
  fi
  [[ -f "$dir/$kMarker" ]] || die "$dir was not created by this script (no $kMarker); not touching it"
  local pid="" sock="$socket" bdir="$binlog_dir"
  if load_env "$dir"; then
    pid="$env_pid"
    [[ -z "$env_socket" ]] || sock="$env_socket"
    [[ -z "$env_binlog_dir" ]] || bdir="$env_binlog_dir"
  fi
  [[ -n "$pid" || ! -f "$pidfile" ]] || pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_our_mariadbd "$pid" "$datadir"; then
    stop_server "$pid" "$sock"
    note "stopped mariadbd $pid"
  else
    note "server in $dir is not running"
  fi
  if [[ -f "$dir/env" ]]; then
    state=stopped
    sed -i 's/^STATE=.*/STATE=stopped/' "$dir/env"
  fi
  if [[ "$keep" -eq 1 ]]; then
    note "kept $dir"
  else
    remove_dirs "$bdir"
    note "removed $dir"
  fi
}

# ---------------------------------------------------------------------------------------- status
cmd_status() {
  admin_bin="$(find_bin "${MARIADB_ADMIN:-}" mariadb-admin mysqladmin)"
  if load_env "$dir" && is_our_mariadbd "$env_pid" "$datadir" && ping_server "$env_socket"; then
    printf 'running: mariadbd %s in %s\n' "$env_pid" "$dir"
    grep -v '^#' "$dir/env"
    return 0
  fi
  printf 'not running: %s\n' "$dir"
  return 3
}

# ---------------------------------------------------------------------------------------- watchdog
# Runs detached; stops the server when the owner process is gone. Exits when the server is gone.
cmd_watchdog() {
  trap '' INT HUP
  cd /
  while alive "$owner_pid" && alive "$watched_pid"; do sleep 1; done
  if alive "$watched_pid"; then
    note "owner $owner_pid is gone; stopping the server in $dir"
    "$self" stop --dir "$dir" --kill || true
    # The owner may have removed DIR itself while the server was still starting; `stop` then has
    # nothing to go by, but this process knows the PID.
    if is_our_mariadbd "$watched_pid" "$datadir"; then
      kill -KILL "$watched_pid" 2>/dev/null || true
      rm -rf -- "$dir"
    fi
  fi
}

# ---------------------------------------------------------------------------------------- start
server_pid="" watchdog_pid="" state="" version="" started=0

# Never leave a half-started mariadbd behind: on any failure or signal before `started=1`.
abort_start() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ "$started" -eq 0 && -n "$server_pid" ]] && alive "$server_pid"; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [[ "$started" -eq 0 && -n "$watchdog_pid" ]]; then kill "$watchdog_pid" 2>/dev/null || true; fi
  exit "$rc"
}

launch() {  # launch PORT: starts mariadbd detached; sets server_pid
  local args=(
    --no-defaults
    --datadir="$datadir"
    --socket="$socket"
    --port="$1"
    --bind-address=127.0.0.1
    --pid-file="$pidfile"
    --log-error="$errlog"
    --tmpdir="$dir/tmp"
    --skip-name-resolve
    --server-id="$server_id"
    --log-bin="$binlog_dir/$kBinlogBase"
    --log-bin-index="$binlog_dir/$kBinlogBase.index"
    --binlog-format=ROW
    --binlog-checksum="$checksum"
    --binlog-row-image="$row_image"
    --binlog-row-metadata="$row_metadata"
    --log-bin-compress="$compress"
    --log-bin-compress-min-len=10
    --character-set-server=utf8mb4
    --collation-server=utf8mb4_general_ci
    --default-time-zone=+00:00
    --innodb-buffer-pool-size=32M
    --innodb-log-file-size=8M
    --innodb-log-buffer-size=4M
    --innodb-flush-log-at-trx-commit=2
    --innodb-doublewrite=0
    --skip-innodb-buffer-pool-dump-at-shutdown
    --skip-innodb-buffer-pool-load-at-startup
    --performance-schema=OFF
    --max-connections=50
  )
  [[ "$(id -u)" -ne 0 ]] || args+=(--user=root)
  [[ -z "$max_binlog_size" ]] || args+=(--max-binlog-size="$max_binlog_size")
  local e
  for e in "${extras[@]}"; do args+=("--$e"); done
  # setsid: a terminal's Ctrl-C or a process-group kill aimed at the caller must not hit the server
  # half-way; the caller, the watchdog or `stop` end it properly.
  setsid "$mariadbd_bin" "${args[@]}" </dev/null >>"$errlog" 2>&1 &
  server_pid=$!
}

# create_datadir INSTALL_BIN: a fresh system database in $datadir, copied from the seed cache
# when it holds one for this exact server and install command, else by mariadb-install-db (about
# a second), whose result then seeds the cache. The cache is keyed by a hash of the mariadbd
# version and the install arguments, so upgrades and changes here never reuse a stale seed.
create_datadir() {
  local install_bin="$1"
  # A private --tmpdir: bootstraps running side by side otherwise collide on temporary table
  # names in /tmp ("Unknown table 'mysql.tmp_user_sys'").
  local args=(--auth-root-authentication-method=normal --skip-test-db
    --innodb-log-file-size=8M --innodb-buffer-pool-size=32M)
  [[ "$(id -u)" -ne 0 ]] || args+=(--user=root)

  local cache="${BINWATCH_MARIADB_SEED_CACHE:-${TMPDIR:-/tmp}/binwatch-mariadb-seed-$(id -u)}" seed=""
  [[ "$cache" == off || -d "$cache" ]] || mkdir -m 0700 -- "$cache" 2>/dev/null || cache=off
  # Only a folder of our own: anyone could have planted a seed in a shared /tmp.
  if [[ "$cache" != off && -d "$cache" && -O "$cache" && ! -L "$cache" ]]; then
    seed="$cache/$(printf '%s\n' "$version" "$mariadbd_bin" "$install_bin" "${args[@]}" | sha256sum | cut -c1-16)"
    if [[ -d "$seed/mysql" ]] && cp -a -- "$seed" "$datadir" 2>/dev/null; then
      return 0
    fi
    rm -rf -- "$datadir"
  fi

  if ! "$install_bin" --no-defaults --datadir="$datadir" --tmpdir="$dir/tmp" "${args[@]}" \
    >"$dir/install.log" 2>&1; then
    # The cause is near the top; the end of the log is boilerplate advice.
    printf -- '---- errors in %s ----\n' "$dir/install.log" >&2
    grep -m 20 -iE 'error|warning' "$dir/install.log" >&2 || head -n 20 "$dir/install.log" >&2
    printf -- '----\n' >&2
    die "mariadb-install-db failed (log: $dir/install.log)"
  fi
  if [[ -n "$seed" && ! -d "$seed" ]]; then
    # Publish by rename so that readers never see a half-copied seed; a concurrent winner stays.
    local staging="$cache/.staging.$$"
    if cp -a -- "$datadir" "$staging" 2>/dev/null; then mv -T -- "$staging" "$seed" 2>/dev/null || true; fi
    rm -rf -- "$staging"
  fi
}

cmd_start() {
  mariadbd_bin="$(find_bin "${MARIADBD:-}" mariadbd mysqld)"
  admin_bin="$(find_bin "${MARIADB_ADMIN:-}" mariadb-admin mysqladmin)"
  local install_bin
  install_bin="$(find_bin "${MARIADB_INSTALL_DB:-}" mariadb-install-db mysql_install_db)"
  command -v setsid >/dev/null || die "setsid not found (package util-linux)"

  if load_env "$dir" && is_our_mariadbd "$env_pid" "$datadir"; then
    ping_server "$env_socket" || die "a mariadbd ($env_pid) runs in $dir but does not answer; stop it first"
    [[ "$env_settings" == "$settings" ]] ||
      die "a server already runs in $dir with other settings ($env_settings); stop it first"
    note "already running: mariadbd $env_pid in $dir"
    return 0
  fi

  if [[ -e "$dir" && ! -f "$dir/$kMarker" && -n "$(ls -A -- "$dir")" ]]; then
    die "$dir exists, is not empty and was not made by this script; use an empty or new directory"
  fi
  mkdir -p -- "$dir"
  : >"$dir/$kMarker"
  mkdir -p -- "$dir/tmp"
  if [[ ! -d "$binlog_dir" ]]; then
    mkdir -p -- "$binlog_dir"
    [[ "$binlog_dir/" == "$dir/"* ]] || : >"$binlog_dir/$kMarker"
  fi

  trap abort_start EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  version="$("$mariadbd_bin" --no-defaults --version 2>/dev/null | sed -n 's/.*Ver \([^ ]*\).*/\1/p')"
  [[ -d "$datadir/mysql" ]] || create_datadir "$install_bin"

  local deadline
  for _ in 1 2 3 4 5; do
    [[ "$port_given" -eq 1 ]] || port="$(pick_port)"
    local log_size=0
    [[ ! -f "$errlog" ]] || log_size="$(stat -c %s "$errlog")"
    launch "$port"
    state=starting
    write_env "$dir/env"
    if [[ -n "$owner_pid" ]]; then # one per launch: a watchdog ends with the mariadbd it watches
      setsid "$self" __watchdog --dir "$dir" --owner-pid "$owner_pid" --watched-pid "$server_pid" \
        --timeout "$timeout" </dev/null >>"$dir/watchdog.log" 2>&1 &
      watchdog_pid=$!
    fi
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
      alive "$server_pid" || break
      if ping_server "$socket"; then
        started=1
        break
      fi
      sleep 0.1
    done
    [[ "$started" -eq 0 ]] || break
    if alive "$server_pid"; then
      kill -KILL "$server_pid" 2>/dev/null || true
      print_log_tail "$errlog"
      die "mariadbd did not answer a ping on $socket within ${timeout}s (log: $errlog)"
    fi
    wait "$server_pid" 2>/dev/null || true
    if [[ "$port_given" -eq 0 ]] && tail -c +"$((log_size + 1))" "$errlog" | grep -q "Bind on TCP/IP port"; then
      note "port $port was taken meanwhile; retrying with another port"
      continue
    fi
    print_log_tail "$errlog"
    die "mariadbd exited during start-up (log: $errlog)"
  done
  [[ "$started" -eq 1 ]] || die "mariadbd could not bind a free port after 5 attempts (log: $errlog)"

  state=running
  write_env "$dir/env"
  trap - EXIT INT TERM HUP
  note "started mariadbd $server_pid ($version) in $dir: socket $socket, port $port, binlogs $binlog_dir"
  note "  $settings"
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  __watchdog) cmd_watchdog ;;
esac
