#pragma once
// Scans one binlog byte stream from its magic to its end, decoding every event, verifying
// checksums and attributing every byte (attribution.h). Pure decoding lives in parsers/binlog;
// this class drives it over a StreamBuffer and records located errors instead of stopping,
// except where the rest of the stream cannot be trusted (bad magic, encryption).
#include <cstdint>
#include <optional>
#include <string>

#include "binwatch/attribution.h"
#include "binwatch/byte_source.h"

namespace binwatch {

struct TornTail {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct FileSummary {
  std::string path;
  uint64_t size = 0;
  std::string server_version;
  std::string checksum = "none";  // "crc32" or "none"
  uint64_t events = 0;
  std::optional<uint32_t> first_event_time, last_event_time;
  bool closed_cleanly = false;
  std::optional<TornTail> torn_tail;
  uint64_t unknown_events = 0;  // event types this build does not know, skipped by length
};

struct ScanOptions {
  bool verify_checksums = true;
  bool walk_rows = true;
};

// Fatal problems: the stream is not a binlog or cannot be read on. Reported with exit code 2.
class FatalScanError : public std::runtime_error {
 public:
  FatalScanError(binlog::ErrorKind kind, const std::string& what)
      : std::runtime_error(what), m_kind(kind) {}
  [[nodiscard]] binlog::ErrorKind kind() const { return m_kind; }

 private:
  binlog::ErrorKind m_kind;
};

// Scans `source` into `out` and returns the file's summary. Throws FatalScanError for a stream
// that is not a binlog or is encrypted, std::runtime_error for I/O errors.
FileSummary scan_binlog(ByteSource& source, Attribution& out, const ScanOptions& options = {});

}  // namespace binwatch
