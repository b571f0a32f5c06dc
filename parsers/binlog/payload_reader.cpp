// Source: MySQL 8.4 libs/mysql/binlog/event/compression/zstd_dec.cpp and
// control_events.cpp (Transaction_payload_event). Streamed: the frame has no content size.
#include "binwatch/binlog/payload_reader.h"

#include <zstd.h>

#include <cstring>
#include <string>

namespace binwatch::binlog {

struct PayloadReader::Impl {
  ZSTD_DCtx* dctx = nullptr;
  size_t max_event_size;
  std::vector<std::byte> window;
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

PayloadReader::PayloadReader(size_t max_event_size) : m_impl(std::make_unique<Impl>()) {
  m_impl->dctx = ZSTD_createDCtx();
  m_impl->max_event_size = max_event_size;
}

PayloadReader::~PayloadReader() = default;

namespace {

DecodeError inner_error(ErrorKind kind, uint64_t at, const std::string& what) {
  return {kind, 0, "transaction payload at uncompressed offset " + std::to_string(at) + ": " + what};
}

}  // namespace

Result<uint64_t> PayloadReader::for_each_event(const TransactionPayloadEvent& p,
                                               const Callback& on_event) {
  Impl& s = *m_impl;
  const bool zstd = p.compression == 0;
  if (!zstd && p.compression != 255) {
    return unsupported("transaction payload compression type " + std::to_string(p.compression));
  }
  // Output never exceeds the declared uncompressed size (a bound against decompression bombs).
  const uint64_t limit = p.uncompressed_size ? p.uncompressed_size : s.max_event_size;
  uint64_t produced = 0;   // uncompressed bytes appended to the window so far
  uint64_t consumed = 0;   // uncompressed bytes handed out as events
  size_t begin = 0, end = 0;  // live bytes in window
  constexpr size_t kChunk = 256 * 1024;
  ZSTD_inBuffer in{p.payload.data(), p.payload.size(), 0};
  if (zstd) ZSTD_DCtx_reset(s.dctx, ZSTD_reset_session_only);
  bool input_done = false;
  bool frame_done = !zstd;
  size_t raw_pos = 0;  // compression NONE: bytes copied from the payload

  while (true) {
    // Cut every complete event in the window.
    while (end - begin >= kHeaderLen) {
      Bytes live(s.window.data() + begin, end - begin);
      auto header = parse_event_header(live);
      if (!header) return inner_error(header.error().kind, consumed, header.error().detail);
      if (header->event_size > s.max_event_size || header->event_size > limit - consumed) {
        return inner_error(ErrorKind::Malformed, consumed,
                           "inner event of " + std::to_string(header->event_size) + " bytes");
      }
      if (live.size() < header->event_size) break;
      if (!on_event(*header, live.first(header->event_size), consumed)) return produced;
      begin += header->event_size;
      consumed += header->event_size;
    }
    if (input_done) break;
    // Compact, then make room for one more chunk (or for the rest of a large event).
    if (begin > 0) {
      std::memmove(s.window.data(), s.window.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    size_t want = kChunk;
    if (end >= kHeaderLen) {
      Bytes live(s.window.data(), end);
      auto header = parse_event_header(live);
      if (header && header->event_size > end && header->event_size <= limit - consumed) {
        want = std::max<size_t>(want, header->event_size - end);
      }
    }
    if (s.window.size() < end + want) s.window.resize(end + want);
    size_t got = 0;
    if (zstd) {
      ZSTD_outBuffer out{s.window.data() + end, want, 0};
      const size_t rc = ZSTD_decompressStream(s.dctx, &out, &in);
      if (ZSTD_isError(rc)) {
        return inner_error(ErrorKind::Malformed, produced,
                           std::string("zstd: ") + ZSTD_getErrorName(rc));
      }
      got = out.pos;
      if (rc == 0) frame_done = true;
      if (got == 0 && in.pos == in.size) input_done = true;
      if (rc == 0 && in.pos == in.size) input_done = true;
    } else {
      got = std::min(want, p.payload.size() - raw_pos);
      std::memcpy(s.window.data() + end, p.payload.data() + raw_pos, got);
      raw_pos += got;
      if (raw_pos == p.payload.size()) input_done = true;
    }
    end += got;
    produced += got;
    if (produced > limit) {
      return inner_error(ErrorKind::Malformed, produced,
                         "more output than the declared uncompressed size " + std::to_string(limit));
    }
  }
  if (!frame_done) {
    return inner_error(ErrorKind::Truncated, produced, "zstd frame ends early");
  }
  if (end != begin) {
    return inner_error(ErrorKind::Truncated, consumed,
                       std::to_string(end - begin) + " trailing bytes do not form an event");
  }
  if (p.uncompressed_size && produced != p.uncompressed_size) {
    return inner_error(ErrorKind::Malformed, produced,
                       "declared uncompressed size " + std::to_string(p.uncompressed_size));
  }
  return produced;
}

}  // namespace binwatch::binlog
