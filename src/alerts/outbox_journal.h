#pragma once
// Internal: the outbox's append-only journal file.
//
//   binwatch-outbox 1\n                  header
//   <crc32 of JSON, 8 hex> <JSON>\n      one record a line (JSON never holds a raw newline)
//
// A record is appended with one write() and made durable with fdatasync() before the caller goes
// on, so after kill -9 the file is every complete record plus at most one torn last line (never
// counted: its enqueue had not returned). rewrite() compacts: the live records to FILE.tmp,
// fsync, rename over FILE, fsync of the folder, so the file is always the old or the new one.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace binwatch::alerts {

class OutboxJournal {
 public:
  struct Contents {
    std::vector<nlohmann::json> records;  // the intact records in file order
    std::vector<std::string> warnings;    // torn tail, damaged lines (each names the file and line)
  };
  // Reads and checks a journal; an absent file is empty. A torn last line or damaged lines are
  // left out with a warning (the damaged file is copied to FILE.damaged first); a file that is not
  // an outbox journal at all throws std::runtime_error naming it.
  static Contents read(const std::filesystem::path& file);

  explicit OutboxJournal(std::filesystem::path file) : m_file(std::move(file)) {}
  ~OutboxJournal();
  OutboxJournal(const OutboxJournal&) = delete;
  OutboxJournal& operator=(const OutboxJournal&) = delete;

  // Atomically replaces the file with these records, then appends to the new file.
  void rewrite(const std::vector<nlohmann::json>& records);
  // Appends records in one write; `sync`: fdatasync before returning. On failure the file is cut
  // back to its previous end and std::runtime_error (naming the file) is thrown.
  void append(const std::vector<nlohmann::json>& records, bool sync);
  // Records appended since the last rewrite (compaction heuristics).
  [[nodiscard]] size_t appended() const { return m_appended; }
  [[nodiscard]] const std::filesystem::path& file() const { return m_file; }

 private:
  std::filesystem::path m_file;
  int m_fd = -1;
  uint64_t m_size = 0;
  size_t m_appended = 0;
};

}  // namespace binwatch::alerts
