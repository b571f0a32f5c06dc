#pragma once
// Streams the events inside a MySQL TRANSACTION_PAYLOAD_EVENT (40). The zstd frame carries no
// content size, so the payload is decompressed as a stream into a window that only ever holds
// the event being cut plus one decompression chunk: memory stays bounded by the largest inner
// event, not by the transaction. Source: MySQL 8.4 libs/mysql/binlog/event/compression/.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/binlog/event_header.h"
#include "binwatch/binlog/events.h"

namespace binwatch::binlog {

class PayloadReader {
 public:
  // on_event gets each inner event (19-byte header + body, no checksum) and its offset inside the
  // uncompressed payload; returning false stops the walk early.
  using Callback = std::function<bool(const EventHeader&, Bytes event, uint64_t inner_offset)>;

  explicit PayloadReader(size_t max_event_size = size_t{1} << 30);
  ~PayloadReader();
  PayloadReader(const PayloadReader&) = delete;
  PayloadReader& operator=(const PayloadReader&) = delete;

  // Returns the total uncompressed bytes walked. Fails (located inside the payload) on a corrupt
  // stream, an inner event that does not fit, or more output than the declared uncompressed size.
  Result<uint64_t> for_each_event(const TransactionPayloadEvent& payload, const Callback& on_event);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace binwatch::binlog
