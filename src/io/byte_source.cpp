#include "binwatch/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace binwatch {

FileSource::FileSource(std::string path) : m_path(std::move(path)) {
  m_fd = m_path == "-" ? ::dup(0) : ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m_fd < 0) throw std::runtime_error(m_path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(m_fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(m_fd);
      m_fd = -1;
      throw std::runtime_error(m_path + ": is a directory, not a binlog file");
    }
    if (S_ISREG(st.st_mode)) {
      m_size = static_cast<uint64_t>(st.st_size);
      ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
  }
}

FileSource::~FileSource() {
  if (m_fd >= 0) ::close(m_fd);
}

size_t FileSource::read(std::byte* dst, size_t n) {
  while (true) {
    const ssize_t r = ::read(m_fd, dst, n);
    if (r >= 0) {
      note_input(static_cast<uint64_t>(r));
      return static_cast<size_t>(r);
    }
    if (errno == EINTR) continue;
    throw std::runtime_error(m_path + ": read error: " + std::strerror(errno));
  }
}

size_t LimitedSource::read(std::byte* dst, size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, m_left));
  if (n == 0) return 0;
  const size_t got = m_inner.read(dst, n);
  m_left -= got;
  return got;
}

size_t MemorySource::read(std::byte* dst, size_t n) {
  n = std::min(n, m_data.size() - m_pos);
  if (n) std::memcpy(dst, m_data.data() + m_pos, n);
  m_pos += n;
  return n;
}

StreamBuffer::StreamBuffer(ByteSource& source, size_t chunk) : m_source(source), m_chunk(chunk) {
  // A small file needs no multi-megabyte window.
  if (auto size = source.size()) m_chunk = std::max<size_t>(64 * 1024, std::min<uint64_t>(chunk, *size + 1));
}

void StreamBuffer::reserve(size_t capacity) {
  if (capacity <= m_cap) return;
  auto bigger = std::make_unique_for_overwrite<std::byte[]>(capacity);
  if (m_end > m_begin) std::memcpy(bigger.get(), m_buf.get() + m_begin, m_end - m_begin);
  m_end -= m_begin;
  m_begin = 0;
  m_buf = std::move(bigger);
  m_cap = capacity;
}

Bytes StreamBuffer::peek(size_t n) {
  while (m_end - m_begin < n && !m_eof) {
    if (m_cap < m_chunk) reserve(m_chunk);
    if (m_begin > 0 && (m_cap - m_end < m_chunk || m_cap - m_begin < n)) {
      std::memmove(m_buf.get(), m_buf.get() + m_begin, m_end - m_begin);
      m_end -= m_begin;
      m_begin = 0;
    }
    // Grow with the data that arrives (doubling), never straight to n: a garbage event_size of
    // 4 GiB on a pipe must not allocate before the bytes exist.
    if (m_end == m_cap) reserve(std::min(n, 2 * m_cap));
    const size_t got = m_source.read(m_buf.get() + m_end, m_cap - m_end);
    if (got == 0) m_eof = true;
    m_end += got;
  }
  return Bytes(m_buf.get() + m_begin, std::min(n, m_end - m_begin));
}

void StreamBuffer::consume(size_t n) {
  n = std::min(n, m_end - m_begin);
  m_begin += n;
  m_offset += n;
  if (m_begin == m_end) m_begin = m_end = 0;
}

uint64_t StreamBuffer::skip(uint64_t n) {
  uint64_t done = 0;
  while (done < n) {
    Bytes chunk = peek(static_cast<size_t>(std::min<uint64_t>(n - done, m_chunk)));
    if (chunk.empty()) break;
    consume(chunk.size());
    done += chunk.size();
  }
  return done;
}

bool StreamBuffer::at_end() { return peek(1).empty(); }

}  // namespace binwatch
