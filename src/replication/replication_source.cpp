// Replication-stream byte source: see include/binwatch/replication/replication_source.h for the
// protocol facts and the stream layout.
//
// COM_BINLOG_DUMP payload (MariaDB sql/sql_repl.cc mysql_binlog_send's caller in sql_parse.cc,
// MySQL sql/rpl_source.cc com_binlog_dump):
//
//   offset  size  field
//   0       4     binlog position (u32 le; positions past 4 GiB cannot be asked for)
//   4       2     flags (1 BINLOG_DUMP_NON_BLOCK; MariaDB 2 BINLOG_SEND_ANNOTATE_ROWS_EVENT)
//   6       4     replica server_id
//   10      n     binlog file name, no terminator
#include "binwatch/replication/replication_source.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/event_header.h"
#include "binwatch/binlog/format_description.h"

namespace binwatch::replication {

namespace {

constexpr uint8_t kRotateEvent = 4;
constexpr uint8_t kFormatDescriptionEvent = 15;
constexpr uint8_t kHeartbeatEvent = 27;
constexpr uint8_t kHeartbeatV2Event = 41;
constexpr uint8_t kMariadbGtidEvent = 162;
constexpr uint8_t kGtidListEvent = 163;
constexpr uint16_t kDumpSendAnnotateRows = 2;      // MariaDB BINLOG_SEND_ANNOTATE_ROWS_EVENT
constexpr int kMariadbSlaveCapabilityGtid = 4;     // MariaDB MARIA_SLAVE_CAPABILITY_GTID
constexpr size_t kLogPosOffset = 13;

uint32_t load_le32(const std::byte* p) {
  return std::to_integer<uint32_t>(p[0]) | std::to_integer<uint32_t>(p[1]) << 8 |
         std::to_integer<uint32_t>(p[2]) << 16 | std::to_integer<uint32_t>(p[3]) << 24;
}

void store_le(std::byte* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

// The file name of a ROTATE event (body: position u64, then the name). Whether a CRC32 follows
// depends on the checksum handshake (fake rotates) or the file (real ones): trust the last four
// bytes as a checksum only when they are one.
std::string rotate_name(Bytes event) {
  constexpr size_t kNameAt = binlog::kHeaderLen + 8;
  if (event.size() < kNameAt) throw std::runtime_error("replication stream: short ROTATE event");
  size_t end = event.size();
  if (end >= kNameAt + binlog::kChecksumLen && binlog::checksum_matches(event)) end -= binlog::kChecksumLen;
  return std::string(as_string_view(event.subspan(kNameAt, end - kNameAt)));
}

}  // namespace

std::chrono::milliseconds backoff_delay(unsigned attempt, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double random01) {
  const double lo = static_cast<double>(std::max<int64_t>(min.count(), 0));
  const double hi = std::max(lo, static_cast<double>(max.count()));
  const double base = std::max(lo, 1.0);
  const double ceiling = std::min(hi, base * std::exp2(std::min(attempt, 62u) + 1));
  const double r = std::clamp(random01, 0.0, 1.0);
  const double delay = std::clamp(lo + r * (ceiling - lo), lo, ceiling);
  return std::chrono::milliseconds(static_cast<int64_t>(delay));
}

bool is_transient_error(unsigned code) {
  if (code >= 2000 && code < 3000) return true;  // Connector/C: connect failed, server gone/lost
  switch (code) {
    case 1040:  // ER_CON_COUNT_ERROR: too many connections
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION
    case 1158: case 1159: case 1160: case 1161:  // ER_NET_READ_ERROR ... ER_NET_WRITE_INTERRUPTED
    case 1317:  // ER_QUERY_INTERRUPTED
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
      return true;
    default:
      return false;
  }
}

ReplicationSource::ReplicationSource(ReplicationOptions options)
    : m_opt(std::move(options)), m_rng(std::random_device{}()) {
  if (m_opt.server_id == 0) {
    throw std::invalid_argument("replication: server_id must be non-zero (and unique among the "
                                "server's replicas)");
  }
  if (m_opt.position < 4) throw std::invalid_argument("replication: position must be at least 4");
  if (m_opt.position > UINT32_MAX) {
    throw std::invalid_argument("replication: COM_BINLOG_DUMP cannot start past 4 GiB in a file");
  }
  if (m_opt.gtid_start.empty()) {
    m_file = m_opt.file;
    if (!m_file.empty()) m_start_position = m_opt.position;
  }
  m_position.store(m_start_position.value_or(0), std::memory_order_release);
}

ReplicationSource::~ReplicationSource() { disconnect(); }

void ReplicationSource::stop() {
  m_stop.store(true);
  std::lock_guard lock(m_mutex);
  if (m_fd >= 0) ::shutdown(m_fd, SHUT_RDWR);  // wakes a read blocked in the socket
  m_cv.notify_all();
}

bool ReplicationSource::stopped() const {
  return m_stop.load() || (m_opt.stop && m_opt.stop());
}

ReplicationStats ReplicationSource::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

void ReplicationSource::disconnect() {
  {
    std::lock_guard lock(m_mutex);
    m_fd = -1;
  }
  m_conn.reset();
}

bool ReplicationSource::sleep_backoff(std::chrono::milliseconds delay) {
  std::unique_lock lock(m_mutex);
  const auto until = std::chrono::steady_clock::now() + delay;
  // Wake up now and then for the stop predicate, which cannot notify.
  while (!m_stop.load() && !(m_opt.stop && m_opt.stop())) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    m_cv.wait_for(lock, std::min<std::chrono::steady_clock::duration>(until - now,
                                                                      std::chrono::milliseconds(100)));
  }
  return false;
}

void ReplicationSource::connect_once() {
  mysql::ConnectionOptions co = m_opt.connection;
  if (m_opt.heartbeat.count() > 0) {
    // Like a replica's slave_net_timeout: three heartbeat periods without a packet mean the
    // connection is dead (a hung or paused server), so reconnect.
    const auto s = (3 * m_opt.heartbeat.count() + 999) / 1000;
    co.read_timeout_s = static_cast<unsigned>(std::max<int64_t>(2, s));
  }
  auto conn = std::make_unique<mysql::Connection>(co);
  // From here stop() may shut the socket down (the SET statements and the dump's first packet
  // can block); the guard, destroyed before `conn`, withdraws the fd before it is closed.
  {
    std::lock_guard lock(m_mutex);
    m_fd = static_cast<int>(mysql_get_socket(conn->handle()));
    if (m_stop.load()) ::shutdown(m_fd, SHUT_RDWR);
  }
  struct FdGuard {
    ReplicationSource* self;
    bool armed = true;
    ~FdGuard() {
      if (!armed) return;
      std::lock_guard lock(self->m_mutex);
      self->m_fd = -1;
    }
  } guard{this};
  m_endpoint = conn->endpoint();
  const bool mariadb = conn->is_mariadb();
  conn->exec("SET @master_binlog_checksum = @@global.binlog_checksum");
  if (mariadb) conn->exec(fmt::format("SET @mariadb_slave_capability = {}", kMariadbSlaveCapabilityGtid));
  if (m_opt.heartbeat.count() > 0) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(m_opt.heartbeat).count();
    conn->exec(fmt::format("SET @master_heartbeat_period = {}", ns));
  }
  const bool by_gtid = !m_start_position && !m_opt.gtid_start.empty();
  if (by_gtid) {
    if (!mariadb) throw std::runtime_error("replication: gtid_start is for MariaDB servers only");
    conn->exec("SET @slave_connect_state = " + conn->quote(m_opt.gtid_start));
    conn->exec("SET @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0");
    m_file.clear();
  } else if (!m_start_position) {
    // No file given: start at the server's current end.
    const auto rs = conn->query("SHOW MASTER STATUS");
    if (rs.rows.empty() || rs.rows[0].size() < 2 || !rs.rows[0][0] || !rs.rows[0][1]) {
      throw std::runtime_error("replication: SHOW MASTER STATUS returned nothing (binary logging "
                               "off, or BINLOG MONITOR / REPLICATION CLIENT missing)");
    }
    m_file = *rs.rows[0][0];
    m_start_position = std::stoull(*rs.rows[0][1]);
    m_position.store(*m_start_position, std::memory_order_release);
  }
  const uint64_t position = by_gtid ? 4 : (m_header_done ? m_event_end : *m_start_position);
  if (position > UINT32_MAX) {
    throw std::runtime_error(fmt::format("replication: cannot resume {} at {}: COM_BINLOG_DUMP "
                                         "positions are 32-bit", m_file, position));
  }
  std::vector<char> cmd(10 + m_file.size());
  auto* p = reinterpret_cast<std::byte*>(cmd.data());
  store_le(p, position, 4);
  store_le(p + 4, mariadb ? kDumpSendAnnotateRows : 0, 2);
  store_le(p + 6, m_opt.server_id, 4);
  std::memcpy(cmd.data() + 10, m_file.data(), m_file.size());
  MYSQL* h = conn->handle();
  if (h->methods->db_command(h, COM_BINLOG_DUMP, cmd.data(), cmd.size(), 1, nullptr) != 0) {
    throw mysql::MysqlError(mysql_errno(h), fmt::format("replication: COM_BINLOG_DUMP to {} failed: {}",
                                                        m_endpoint, mysql_error(h)));
  }
  {
    std::lock_guard lock(m_mutex);
    ++m_stats.connects;
  }
  guard.armed = false;
  m_conn = std::move(conn);
  spdlog::info("replication: dump from {} as server_id {} at {}", m_endpoint, m_opt.server_id,
               by_gtid ? "GTID " + m_opt.gtid_start : fmt::format("{}:{}", m_file, position));
}

bool ReplicationSource::connect_with_retry() {
  for (unsigned attempt = 0;; ++attempt) {
    if (stopped()) return false;
    try {
      connect_once();
      return true;
    } catch (const mysql::MysqlError& e) {
      disconnect();
      if (!is_transient_error(e.code())) throw;
      if (m_opt.max_attempts != 0 && attempt + 1 >= m_opt.max_attempts) {
        throw std::runtime_error(fmt::format("replication: giving up after {} attempts: {}",
                                             attempt + 1, e.what()));
      }
      const auto delay = backoff_delay(attempt, m_opt.backoff_min, m_opt.backoff_max,
                                       std::uniform_real_distribution<double>(0.0, 1.0)(m_rng));
      spdlog::warn("replication: connecting failed ({}); retrying in {} ms (attempt {})", e.what(),
                   delay.count(), attempt + 1);
      if (!sleep_backoff(delay)) return false;
    }
  }
}

ReplicationSource::Packet ReplicationSource::read_packet(const std::byte*& data, size_t& size) {
  MYSQL* h = m_conn->handle();
  const unsigned long len = mysql_net_read_packet(h);
  if (len == static_cast<unsigned long>(packet_error) || len == 0) return Packet::Error;
  data = reinterpret_cast<const std::byte*>(h->net.read_pos);
  size = len;
  if (std::to_integer<uint8_t>(data[0]) == 0xfe && len < 9) return Packet::Eof;
  return Packet::Event;
}

bool ReplicationSource::pump(const std::function<bool()>& done) {
  while (!done()) {
    if (stopped()) return false;
    if (!m_conn) {
      if (m_stats.connects > 0) {
        // A lost stream: wait before the first attempt too, so a server that kills the dump at
        // once is not hammered.
        const auto delay = backoff_delay(0, m_opt.backoff_min, m_opt.backoff_max,
                                         std::uniform_real_distribution<double>(0.0, 1.0)(m_rng));
        if (!sleep_backoff(delay)) return false;
      }
      if (!connect_with_retry()) return false;
      if (m_stats.connects > 1) {
        std::lock_guard lock(m_mutex);
        ++m_stats.reconnects;
      }
    }
    if (m_opt.on_wait && !has_pending()) {
      pollfd pfd{static_cast<int>(mysql_get_socket(m_conn->handle())), POLLIN, 0};
      if (::poll(&pfd, 1, 0) == 0) m_opt.on_wait();
    }
    const std::byte* data = nullptr;
    size_t size = 0;
    const Packet kind = read_packet(data, size);
    if (kind == Packet::Event) {
      handle_event(data + 1, size - 1);
      continue;
    }
    const unsigned code = kind == Packet::Eof ? 0 : mysql_errno(m_conn->handle());
    const std::string message = kind == Packet::Eof ? "end of stream" : mysql_error(m_conn->handle());
    disconnect();
    if (stopped()) return false;
    if (kind == Packet::Error && !is_transient_error(code)) {
      throw mysql::MysqlError(code, fmt::format("replication: {} at {}:{}: {}", m_endpoint, m_file,
                                                m_event_end, message));
    }
    spdlog::warn("replication: stream from {} lost at {}:{} ({}{}); reconnecting", m_endpoint,
                 m_file, m_event_end, code ? fmt::format("{}: ", code) : "", message);
  }
  return true;
}

void ReplicationSource::append(const std::byte* data, size_t size, bool is_event) {
  m_pending.insert(m_pending.end(), data, data + size);
  if (is_event) m_event_ends.push_back(m_event_end + size);
}

void ReplicationSource::start_file(const std::byte* fde, size_t size) {
  std::vector<std::byte> copy(fde, fde + size);
  // When the dump does not start at 4 the server zeroes log_pos and create_timestamp, and fixes the
  // CRC32 only when the replica negotiated CRC32 (sql_repl.cc: fix_checksum is skipped for
  // BINLOG_CHECKSUM_ALG_OFF, although the FDE of a checksum-aware server always carries its CRC).
  // Put log_pos back (the file's value: the FDE ends at 4 + size) and make the CRC hold again, as
  // the file's does; create_timestamp cannot be recovered (0 or the header's timestamp).
  if (load_le32(copy.data() + kLogPosOffset) == 0) {
    store_le(copy.data() + kLogPosOffset, 4 + size, 4);
    constexpr size_t kVersionAt = binlog::kHeaderLen + 2, kVersionLen = 50;
    if (size >= kVersionAt + kVersionLen + 4 + 1 + 1 + binlog::kChecksumLen) {
      std::string version(as_string_view(Bytes(copy).subspan(kVersionAt, kVersionLen)));
      version.resize(std::strlen(version.c_str()));
      if (binlog::server_version_knows_checksums(version)) {
        const uint32_t crc = binlog::crc32(Bytes(copy).first(size - binlog::kChecksumLen));
        store_le(copy.data() + size - binlog::kChecksumLen, crc, 4);
      }
    }
  }
  m_pending.insert(m_pending.end(), reinterpret_cast<const std::byte*>(binlog::kMagic),
                   reinterpret_cast<const std::byte*>(binlog::kMagic) + 4);
  m_pending.insert(m_pending.end(), copy.begin(), copy.end());
  m_event_end = 4 + size;
  m_skip_end = m_event_end;
  m_header_done = true;
  if (m_start_position) {
    const uint64_t p = *m_start_position;
    if (p != 4 && p < m_event_end) {
      throw std::runtime_error(fmt::format("replication: position {} in {} is inside its format "
                                           "description event (ends at {})", p, m_file, m_event_end));
    }
    place_start(p);
  }
}

void ReplicationSource::place_start(uint64_t begin) {
  m_start_position = begin;
  m_position.store(begin, std::memory_order_release);
  if (begin > m_event_end) {
    m_zero_at = m_pending.size();
    m_zero_len = begin - m_event_end;
    m_event_end = begin;
  }
}

void ReplicationSource::handle_event(const std::byte* data, size_t size) {
  const Bytes event(data, size);
  auto header = binlog::parse_event_header(event);
  if (!header || header->event_size != size) {
    throw std::runtime_error(fmt::format("replication: malformed event packet ({} bytes) in {} after "
                                         "offset {}", size, m_file, m_event_end));
  }
  const binlog::EventHeader& h = *header;
  spdlog::trace("replication: {} event type {} size {} log_pos {} flags {:#x} timestamp {} (at {})",
                m_file, h.type, size, h.log_pos, h.flags, h.timestamp, m_event_end);
  if (h.type == kHeartbeatEvent || h.type == kHeartbeatV2Event) {
    // A heartbeat's log_pos is where the dump thread is in the file (the end of the last event it
    // read, sent or skipped): after a GTID start on an idle server, that is where events start.
    if (h.type == kHeartbeatEvent && m_header_done && !m_start_position && h.log_pos >= m_skip_end)
      place_start(h.log_pos);
    {
      std::lock_guard lock(m_mutex);
      ++m_stats.heartbeats;
    }
    if (m_opt.on_wait) m_opt.on_wait();
    return;
  }
  const bool artificial = (h.flags & binlog::kFlagArtificial) != 0;
  if (h.type == kRotateEvent && (artificial || h.log_pos == 0)) {
    std::string name = rotate_name(event);
    if (!m_header_done) {
      if (m_file.empty() || !m_start_position) {
        m_file = std::move(name);  // GTID start: the server says where it is
      } else if (name != m_file) {
        throw std::runtime_error(fmt::format("replication: asked for {}, the server streams {}",
                                             m_file, name));
      }
    } else if (name != m_file && !m_file_ended) {
      // The file ended without a ROTATE (server restarted; the file ends with STOP or is torn).
      spdlog::info("replication: {} ended at {} without ROTATE; the server continues with {}",
                   m_file, m_event_end, name);
      m_file_ended = true;
      m_next_file = std::move(name);
    }
    std::lock_guard lock(m_mutex);
    ++m_stats.artificial;
    return;
  }
  if (h.type == kFormatDescriptionEvent) {
    if (!m_header_done) {
      start_file(data, size);
    } else {
      std::lock_guard lock(m_mutex);
      ++m_stats.artificial;  // re-sent at reconnect
    }
    return;
  }
  if (artificial) {
    if (h.type == kGtidListEvent && m_header_done && !m_start_position && h.log_pos >= m_skip_end)
      place_start(h.log_pos);  // GTID start: where the server resumes sending
    std::lock_guard lock(m_mutex);
    ++m_stats.artificial;
    return;
  }
  if (!m_header_done) {
    throw std::runtime_error(fmt::format("replication: event type {} before the format description "
                                         "of {}", h.type, m_file));
  }
  if (!m_start_position) {
    // GTID start (MariaDB 10.11, verified): the server streams the file from 4 (FDE, the file's own
    // GTID_LIST and BINLOG_CHECKPOINT), skips the event groups the replica already has without
    // sending them, then sends an artificial GTID_LIST whose log_pos is where sending resumes.
    // Events before that point are not in the requested range: the filler replaces them.
    if (h.log_pos == 0 || h.log_pos < size || h.log_pos - size < m_skip_end) {
      throw std::runtime_error(fmt::format("replication: cannot place event type {} (log_pos {}) of "
                                           "{} after a GTID start", h.type, h.log_pos, m_file));
    }
    const uint64_t begin = h.log_pos - size;
    if (begin == m_skip_end && h.type != kMariadbGtidEvent) {
      m_skip_end = h.log_pos;  // file-head event before the first transaction: not in range
      std::lock_guard lock(m_mutex);
      ++m_stats.artificial;
      return;
    }
    place_start(begin);  // the first transaction, or the first event after a skipped stretch
  }
  if (h.log_pos != 0 && h.log_pos != static_cast<uint32_t>(m_event_end + size)) {
    throw std::runtime_error(fmt::format(
        "replication: the stream of {} skips from offset {} to {} (event type {}, {} bytes): the "
        "server left events out, offsets would not match the file", m_file, m_event_end,
        h.log_pos - size, h.type, size));
  }
  append(data, size, true);
  m_event_end += size;
  {
    std::lock_guard lock(m_mutex);
    ++m_stats.events;
  }
  if (h.type == kRotateEvent) {
    m_file_ended = true;
    m_next_file = rotate_name(event);
  }
}

size_t ReplicationSource::drain(std::byte* dst, size_t n) {
  size_t out = 0;
  while (out < n) {
    if (m_zero_len > 0 && m_pending_pos == m_zero_at) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(m_zero_len, n - out));
      std::memset(dst + out, 0, k);
      m_zero_len -= k;
      out += k;
      continue;
    }
    size_t end = m_pending.size();
    if (m_zero_len > 0 && m_zero_at > m_pending_pos) end = m_zero_at;
    const size_t k = std::min(end - m_pending_pos, n - out);
    if (k == 0) break;
    std::memcpy(dst + out, m_pending.data() + m_pending_pos, k);
    m_pending_pos += k;
    out += k;
  }
  if (m_pending_pos == m_pending.size() && m_zero_len == 0) {
    m_pending.clear();
    m_pending_pos = 0;
    m_zero_at = 0;
  }
  m_delivered += out;
  uint64_t last = 0;
  while (!m_event_ends.empty() && m_event_ends.front() <= m_delivered) {
    last = m_event_ends.front();
    m_event_ends.pop_front();
  }
  if (last != 0) m_position.store(last, std::memory_order_release);
  note_input(out);
  return out;
}

bool ReplicationSource::has_pending() const {
  return m_pending_pos < m_pending.size() || m_zero_len > 0;
}

size_t ReplicationSource::read(std::byte* dst, size_t n) {
  if (n == 0) return 0;
  while (true) {
    if (stopped()) return 0;
    if (const size_t got = drain(dst, n)) return got;
    if (m_file_ended) return 0;
    if (!pump([this] { return has_pending() || m_file_ended; })) return 0;
  }
}

bool ReplicationSource::wait_for_start() {
  return pump([this] { return m_start_position.has_value() && !m_file.empty(); });
}

std::optional<std::string> ReplicationSource::next_file() {
  if (stopped() || !m_file_ended || has_pending()) return std::nullopt;
  m_file = std::move(m_next_file);
  m_next_file.clear();
  m_start_position = 4;
  m_header_done = false;
  m_file_ended = false;
  m_event_end = 0;
  m_delivered = 0;
  m_event_ends.clear();
  m_position.store(4, std::memory_order_release);
  return m_file;
}

}  // namespace binwatch::replication
