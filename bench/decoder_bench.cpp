// Micro-benchmarks of the decoder's hot paths (Google Benchmark). The named baselines run in the
// same binary on the same input: zlib's crc32 against libdeflate's, and a plain memory copy
// against a full scan (frame, CRC32, decode, row walk, attribution).
//   cmake -S . -B build -DBINWATCH_BENCH=ON && cmake --build build --target decoder_bench
//   build/bench/decoder_bench [path/to/binlog]   (default: fixtures/mariadb-10.11/crc32-full)
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "binwatch/attribution.h"
#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"

namespace {

std::string g_path = BINWATCH_SOURCE_DIR "/fixtures/mariadb-10.11/crc32-full/mariadb-bin.000001";

const std::vector<std::byte>& input() {
  static const std::vector<std::byte> data = [] {
    std::ifstream in(g_path, std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(raw.size());
    std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }();
  return data;
}


void BM_Crc32_Zlib(benchmark::State& state) {
  const auto& d = input();
  for (auto _ : state) {
    benchmark::DoNotOptimize(::crc32(0, reinterpret_cast<const Bytef*>(d.data()), d.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_Crc32_Zlib);

void BM_Crc32_Libdeflate(benchmark::State& state) {
  const auto& d = input();
  for (auto _ : state) benchmark::DoNotOptimize(binwatch::binlog::crc32(d));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_Crc32_Libdeflate);

void BM_MemoryCopy(benchmark::State& state) {
  const auto& d = input();
  std::vector<std::byte> dst(d.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), d.data(), d.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_MemoryCopy);

void BM_Scan(benchmark::State& state) {
  const auto& d = input();
  binwatch::ScanOptions options;
  options.verify_checksums = state.range(0) != 0;
  options.walk_rows = state.range(1) != 0;
  for (auto _ : state) {
    binwatch::MemorySource src("memory", d);
    binwatch::Attribution a;
    benchmark::DoNotOptimize(binwatch::scan_binlog(src, a, options));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_Scan)->ArgNames({"crc", "rows"})->Args({1, 1})->Args({0, 1})->Args({1, 0})->Args({0, 0});

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1) g_path = argv[1];
  if (input().empty()) {
    std::fprintf(stderr, "decoder_bench: cannot read %s\n", g_path.c_str());
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
