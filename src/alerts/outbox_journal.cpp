#include "outbox_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "binwatch/atomic_file.h"
#include "binwatch/binlog/checksum.h"

namespace binwatch::alerts {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kHeader = "binwatch-outbox 1\n";
constexpr std::string_view kMagic = "binwatch-outbox ";

uint32_t checksum(std::string_view text) {
  return binlog::crc32(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

std::string encode(const std::vector<json>& records) {
  std::string out;
  for (const auto& r : records) {
    const std::string body = r.dump();  // escapes control characters: never a raw newline
    char crc[10];
    std::snprintf(crc, sizeof crc, "%08x ", checksum(body));
    out += crc;
    out += body;
    out += '\n';
  }
  return out;
}

// The record of one complete line, or nullopt when the line is damaged.
std::optional<json> decode(std::string_view line) {
  if (line.size() < 10 || line[8] != ' ') return std::nullopt;
  uint32_t crc = 0;
  for (char c : line.substr(0, 8)) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (v < 0) return std::nullopt;
    crc = crc << 4 | static_cast<uint32_t>(v);
  }
  const std::string_view body = line.substr(9);
  if (checksum(body) != crc) return std::nullopt;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

OutboxJournal::Contents OutboxJournal::read(const fs::path& file) {
  Contents c;
  const auto contents = read_whole_file(file);
  if (!contents) {
    if (!fs::exists(file)) return c;
    throw std::runtime_error(file.string() + ": cannot read the alert outbox");
  }
  const std::string& text = *contents;
  if (text.empty() || (text.size() < kHeader.size() && kHeader.starts_with(text))) {
    c.warnings.push_back(file.string() + ": empty or torn header (kill -9 while it was created?); starting empty");
    return c;
  }
  if (!text.starts_with(kMagic)) {
    throw std::runtime_error(file.string() +
                             ": not a binwatch alert outbox (it does not start with \"binwatch-outbox 1\"); "
                             "move it away (pending alerts in it are lost) or fix the state folder");
  }
  if (!text.starts_with(kHeader)) {
    throw std::runtime_error(file.string() + ": unsupported alert outbox version \"" +
                             text.substr(0, text.find('\n')) + "\" (this binwatch reads version 1)");
  }
  size_t pos = kHeader.size();
  size_t line_no = 1;
  size_t damaged = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      c.warnings.push_back(file.string() + ":" + std::to_string(line_no) + ": incomplete last record (" +
                           std::to_string(text.size() - pos) +
                           " bytes: a write cut short by kill -9 or a crash, never acknowledged) dropped");
      break;
    }
    if (auto r = decode(std::string_view(text).substr(pos, nl - pos))) {
      c.records.push_back(std::move(*r));
    } else {
      ++damaged;
      c.warnings.push_back(file.string() + ":" + std::to_string(line_no) + ": damaged record (checksum or JSON) skipped");
    }
    pos = nl + 1;
  }
  if (damaged > 0) {
    const fs::path copy = file.string() + ".damaged";
    std::error_code ec;
    fs::copy_file(file, copy, fs::copy_options::overwrite_existing, ec);
    c.warnings.push_back(file.string() + ": " + std::to_string(damaged) + " damaged record(s) skipped; " +
                         (ec ? "could not keep a copy (" + ec.message() + ")" : "the original is kept as " + copy.string()));
  }
  return c;
}

OutboxJournal::~OutboxJournal() {
  if (m_fd >= 0) ::close(m_fd);
}

void OutboxJournal::rewrite(const std::vector<json>& records) {
  const std::string text = std::string(kHeader) + encode(records);
  write_file_atomically(m_file, text, 0600);
  const int fd = ::open(m_file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(m_file.string() + ": cannot open the alert outbox: " + std::strerror(errno));
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
  m_size = text.size();
  m_appended = 0;
}

void OutboxJournal::append(const std::vector<json>& records, bool sync) {
  if (records.empty()) return;
  if (m_fd < 0) throw std::runtime_error(m_file.string() + ": the alert outbox is not open");
  const std::string text = encode(records);
  const bool written = write_all(m_fd, text);
  if (!written || (sync && ::fdatasync(m_fd) != 0)) {
    const int err = errno;
    // Cut a partial record back off, so the next append does not land after a torn line; when
    // even that fails the journal is closed (the outbox rewrites it before the next append).
    if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0) {
      ::close(m_fd);
      m_fd = -1;
    }
    throw std::runtime_error(m_file.string() + ": " + (written ? "fdatasync" : "write") +
                             " of the alert outbox failed: " + std::strerror(err));
  }
  m_size += text.size();
  m_appended += records.size();
}

}  // namespace binwatch::alerts
