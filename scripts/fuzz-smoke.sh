#!/usr/bin/env bash
# Fuzzing smoke run of the binlog decoder (tests/fuzz/decoder_fuzz.cpp, libFuzzer + ASan + UBSan)
# for SECONDS, then of the /proc parsers (procfs_fuzz) and the text parsers (text_fuzz: statement
# fingerprints, preflight's DML parser, datetime options) for SECONDS/4 each (at least 10 s).
#   scripts/fuzz-smoke.sh [SECONDS]          (default 60)
# Configures a separate clang build directory (build-fuzz), builds the fuzzer, seeds a corpus from
# every binlog in the shared fixtures (BINWATCH_SHARED_FIXTURES, default ../shared/fixtures-real;
# skipped with a note when absent) and in fixtures/, and runs it for SECONDS. Exits non-zero on any
# crash, timeout or out-of-memory; the input that triggered it is kept in build-fuzz/fuzz-artifacts/.
# Environment: BINWATCH_SKIP_DEPS=1 skips the package step, BINWATCH_FUZZ_BUILD_DIR overrides the
# build directory, BINWATCH_JOBS the build parallelism.
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BINWATCH_FUZZ_BUILD_DIR:-$root/build-fuzz}"
fixtures="${BINWATCH_SHARED_FIXTURES:-$root/../shared/fixtures-real}"
jobs="${BINWATCH_JOBS:-$(nproc 2>/dev/null || echo 2)}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
if [ "${BINWATCH_SKIP_DEPS:-0}" != "1" ]; then
  bash "$root/scripts/install-deps.sh"
fi
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "fuzz-smoke: clang/clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

echo "== fuzz-smoke: building decoder_fuzz in $build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DBINWATCH_FUZZ=ON -DBINWATCH_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target decoder_fuzz procfs_fuzz text_fuzz

# Seeds: the first 64 KB (-max_len) of every file that starts with the binlog magic fe 62 69 6e.
seeds="$build/fuzz-seeds"
corpus="$build/fuzz-corpus"      # kept between runs: what the fuzzer found grows here
artifacts="$build/fuzz-artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
seed_from() {
  local dir="$1" n=0 f
  while IFS= read -r -d '' f; do
    if [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" = "fe62696e" ]; then
      head -c 65536 "$f" > "$seeds/$(printf '%s' "$f" | cksum | cut -d' ' -f1)-$(basename "$f")"
      n=$((n + 1))
    fi
  done < <(find "$dir" -type f -print0)
  echo "   $n binlogs from $dir"
}
echo "== fuzz-smoke: seeding"
if [ -d "$fixtures" ]; then
  seed_from "$fixtures"
else
  echo "   shared fixtures folder $fixtures absent: skipped (set BINWATCH_SHARED_FIXTURES)"
fi
if [ -d "$root/fixtures" ]; then
  seed_from "$root/fixtures"
fi

echo "== fuzz-smoke: running for ${seconds}s"
set +e
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "$build/tests/fuzz/decoder_fuzz" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "== fuzz-smoke: FAILED (exit $rc); inputs that triggered it:" >&2
  ls -l "$artifacts" >&2 || true
  echo "   reproduce: $build/tests/fuzz/decoder_fuzz <file>" >&2
  exit "$rc"
fi
echo "== fuzz-smoke: decoder: no crash in ${seconds}s"

# The smaller parsers: seeds are the /proc snapshots and the SQL files, once per selector byte.
short=$(( seconds / 4 < 10 ? 10 : seconds / 4 ))
run_small() {  # run_small TARGET SELECTORS SEED_DIR...
  local target="$1" selectors="$2" dir f s
  shift 2
  local tseeds="$build/fuzz-seeds-$target" tcorpus="$build/fuzz-corpus-$target"
  rm -rf "$tseeds"
  mkdir -p "$tseeds" "$tcorpus"
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' f; do
      for ((s = 0; s < selectors; s++)); do
        { printf "\\$(printf '%03o' "$s")"; head -c 16384 "$f"; } > "$tseeds/$s-$(printf '%s' "$f" | cksum | cut -d' ' -f1)"
      done
    done < <(find "$dir" -type f -size -64k -print0)
  done
  echo "== fuzz-smoke: $target for ${short}s"
  set +e
  ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$build/tests/fuzz/$target" -max_total_time="$short" -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$tcorpus" "$tseeds"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "== fuzz-smoke: $target FAILED (exit $rc); reproduce: $build/tests/fuzz/$target <file in $artifacts>" >&2
    exit "$rc"
  fi
}
run_small procfs_fuzz 10 "$root/fixtures/procfs"
run_small text_fuzz 4 "$root/scripts/sql" "$root/tests/sql" "$root/fixtures/mariadb-10.11"
echo "== fuzz-smoke: no crash"
