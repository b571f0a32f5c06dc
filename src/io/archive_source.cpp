// Compressed binlog archives (.gz, .zst) and input-list expansion for `binwatch report`.
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "binwatch/byte_source.h"

namespace binwatch {

GzipSource::GzipSource(std::string path) : m_path(std::move(path)) {
  FileSource probe(m_path);  // same errors as a plain file (missing, directory, permissions)
  gzFile gz = gzopen(m_path.c_str(), "rb");
  if (!gz) throw std::runtime_error(m_path + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz, 1 << 20);
  m_gz = gz;
}

GzipSource::~GzipSource() {
  if (m_gz) gzclose(static_cast<gzFile>(m_gz));
}

size_t GzipSource::read(std::byte* dst, size_t n) {
  const unsigned want = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
  const int got = gzread(static_cast<gzFile>(m_gz), dst, want);
  int err = Z_OK;
  const char* msg = gzerror(static_cast<gzFile>(m_gz), &err);
  // A truncated archive ends with Z_BUF_ERROR ("unexpected end of file") and a short read: the
  // cut is in the archive, not in the binlog, so it is an error and never a torn tail.
  if (got < 0 || (got == 0 && err != Z_OK && err != Z_STREAM_END)) {
    throw std::runtime_error(m_path + ": gzip stream is damaged or truncated: " +
                             (msg ? msg : "unknown error"));
  }
  const int64_t raw = gzoffset(static_cast<gzFile>(m_gz));
  if (raw > m_raw_read) {
    note_input(static_cast<uint64_t>(raw - m_raw_read));
    m_raw_read = raw;
  }
  return static_cast<size_t>(got);
}

ZstdSource::ZstdSource(std::string path) : m_file(std::move(path)), m_in(ZSTD_DStreamInSize()) {
  m_dctx = ZSTD_createDStream();
  if (!m_dctx) throw std::runtime_error(m_file.name() + ": out of memory for zstd");
}

ZstdSource::~ZstdSource() { ZSTD_freeDStream(static_cast<ZSTD_DStream*>(m_dctx)); }

size_t ZstdSource::read(std::byte* dst, size_t n) {
  ZSTD_outBuffer out{dst, n, 0};
  while (out.pos == 0) {
    if (m_in_pos == m_in_end && !m_in_eof) {
      m_in_end = m_file.read(m_in.data(), m_in.size());
      m_in_pos = 0;
      if (m_in_end == 0) m_in_eof = true;
    }
    if (m_in_pos == m_in_end && m_in_eof) {
      if (m_frame_open) {
        throw std::runtime_error(m_file.name() + ": zstd stream ends inside a frame (truncated archive)");
      }
      return 0;
    }
    ZSTD_inBuffer in{m_in.data(), m_in_end, m_in_pos};
    const size_t rc = ZSTD_decompressStream(static_cast<ZSTD_DStream*>(m_dctx), &out, &in);
    m_in_pos = in.pos;
    if (ZSTD_isError(rc)) {
      throw std::runtime_error(m_file.name() + ": zstd stream is damaged: " + ZSTD_getErrorName(rc));
    }
    m_frame_open = rc != 0;
  }
  return out.pos;
}

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::unique_ptr<ByteSource> open_source(const std::string& path) {
  if (ends_with(path, ".gz")) return std::make_unique<GzipSource>(path);
  if (ends_with(path, ".zst")) return std::make_unique<ZstdSource>(path);
  return std::make_unique<FileSource>(path);
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& arg : args) {
    if (!ends_with(arg, ".index")) {
      out.push_back(arg);
      continue;
    }
    std::ifstream in(arg);
    if (!in) throw std::runtime_error(arg + ": cannot read binlog index: " + std::strerror(errno));
    const std::filesystem::path base = std::filesystem::path(arg).parent_path();
    std::string line;
    size_t listed = 0;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      std::filesystem::path p(line);
      out.push_back(p.is_absolute() ? p.string() : (base / p).lexically_normal().string());
      ++listed;
    }
    if (listed == 0) throw std::runtime_error(arg + ": binlog index lists no files");
  }
  return out;
}

}  // namespace binwatch
