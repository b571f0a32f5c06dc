#pragma once
// Sequential byte sources for binlog decoding (files now; stdin and compressed archives plug in
// here) and a buffer that hands the decoder contiguous views of whole events with large reads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/byte_cursor.h"

namespace binwatch {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; returns 0 at end of input. Throws std::runtime_error on I/O errors
  // (outside the decoder's hot loop) with the source's name in the message.
  virtual size_t read(std::byte* dst, size_t n) = 0;
  [[nodiscard]] virtual const std::string& name() const = 0;
  [[nodiscard]] virtual std::optional<uint64_t> size() const { return std::nullopt; }
  // Adds the raw (on-disk, still compressed for archives) bytes read from now on to `counter`,
  // for progress displays. The counter must outlive the source.
  virtual void count_input_into(std::atomic<uint64_t>* counter) { m_progress = counter; }

 protected:
  void note_input(uint64_t bytes) {
    if (m_progress) m_progress->fetch_add(bytes, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t>* m_progress = nullptr;
};

// A regular file (or anything open()-able), read with large sequential reads.
class FileSource : public ByteSource {
 public:
  explicit FileSource(std::string path);  // throws std::runtime_error naming the file
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  size_t read(std::byte* dst, size_t n) override;
  [[nodiscard]] const std::string& name() const override { return m_path; }
  [[nodiscard]] std::optional<uint64_t> size() const override { return m_size; }

 private:
  std::string m_path;
  int m_fd = -1;
  std::optional<uint64_t> m_size;
};

// A gzip (.gz) or zstd (.zst) compressed binlog archive, decompressed as it is read.
class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::string path);  // throws std::runtime_error naming the file
  ~GzipSource() override;
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  size_t read(std::byte* dst, size_t n) override;
  [[nodiscard]] const std::string& name() const override { return m_path; }

 private:
  std::string m_path;
  void* m_gz = nullptr;  // gzFile
  int64_t m_raw_read = 0;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::string path);  // throws std::runtime_error naming the file
  ~ZstdSource() override;
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;
  size_t read(std::byte* dst, size_t n) override;
  [[nodiscard]] const std::string& name() const override { return m_file.name(); }
  void count_input_into(std::atomic<uint64_t>* counter) override { m_file.count_input_into(counter); }

 private:
  FileSource m_file;
  void* m_dctx = nullptr;  // ZSTD_DStream
  std::vector<std::byte> m_in;
  size_t m_in_pos = 0, m_in_end = 0;
  bool m_in_eof = false;
  bool m_frame_open = false;
};

// Opens a binlog input by name: "-" is standard input, "*.gz" and "*.zst" are decompressed
// transparently, anything else is read as a plain file.
std::unique_ptr<ByteSource> open_source(const std::string& path);

// Expands binlog index files (names ending in ".index", as mysql-bin.index: one binlog path per
// line, relative paths taken from the index's folder) into their files, in order; other
// arguments pass through. Throws std::runtime_error naming an unreadable index.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args);

// The first `limit` bytes of another source (a file still being written, read up to a known
// boundary). Reports the smaller of the limit and the inner size as its size.
class LimitedSource : public ByteSource {
 public:
  LimitedSource(ByteSource& inner, uint64_t limit) : m_inner(inner), m_left(limit), m_limit(limit) {}
  size_t read(std::byte* dst, size_t n) override;
  [[nodiscard]] const std::string& name() const override { return m_inner.name(); }
  [[nodiscard]] std::optional<uint64_t> size() const override {
    auto s = m_inner.size();
    return s ? std::optional<uint64_t>(std::min(*s, m_limit)) : std::nullopt;
  }

 private:
  ByteSource& m_inner;
  uint64_t m_left, m_limit;
};

// Bytes already in memory (a replication packet, a test input), not copied: `data` must outlive
// the source. With known_size=false it behaves like a pipe (no size known up front).
class MemorySource : public ByteSource {
 public:
  MemorySource(std::string name, Bytes data, bool known_size = true)
      : m_name(std::move(name)), m_data(data), m_known_size(known_size) {}
  size_t read(std::byte* dst, size_t n) override;
  [[nodiscard]] const std::string& name() const override { return m_name; }
  [[nodiscard]] std::optional<uint64_t> size() const override {
    return m_known_size ? std::optional<uint64_t>(m_data.size()) : std::nullopt;
  }

 private:
  std::string m_name;
  Bytes m_data;
  size_t m_pos = 0;
  bool m_known_size;
};

// Keeps a window over a source so that any n bytes from the current offset can be viewed
// contiguously. Memory: one chunk plus the largest event peeked.
class StreamBuffer {
 public:
  explicit StreamBuffer(ByteSource& source, size_t chunk = size_t{4} << 20);
  // Up to n bytes from the current offset; fewer only at end of input.
  Bytes peek(size_t n);
  void consume(size_t n);
  // Consumes up to n bytes, reading through the source; returns how many (fewer only at the end).
  uint64_t skip(uint64_t n);
  [[nodiscard]] uint64_t offset() const { return m_offset; }
  // True once the source is exhausted and every byte consumed.
  bool at_end();

 private:
  void reserve(size_t capacity);

  ByteSource& m_source;
  size_t m_chunk;
  std::unique_ptr<std::byte[]> m_buf;  // not zero-filled: only bytes read are ever viewed
  size_t m_cap = 0;
  size_t m_begin = 0, m_end = 0;
  uint64_t m_offset = 0;
  bool m_eof = false;
};

}  // namespace binwatch
