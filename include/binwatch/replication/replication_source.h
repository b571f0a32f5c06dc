#pragma once
// The replication-stream byte source: binwatch connects to the server as a replica (COM_BINLOG_DUMP)
// and turns the event stream back into the bytes of the binlog file, offset for offset, so the
// same scanner and the same attribution contract apply as for files on disk.
//
// What read() yields for one binlog file (byte offsets are the file's own):
//
//   offset            bytes
//   0                 fe 62 69 6e (magic)
//   4                 the file's FORMAT_DESCRIPTION event (a start past 4: see the FDE note below)
//   4 + fde_size      zero filler up to the start position P, when P > 4 + fde_size
//   P ...             every event from P exactly as stored in the file, up to and including the
//                     ROTATE that closes the file; then read() returns 0
//
// so `scan_binlog` with `filter.start_position = P` attributes exactly the events from P, and the
// per-table bytes equal `binwatch report --start-position P` on the same file range. After read()
// returned 0, next_file() moves to the following file, whose stream starts again at offset 0.
//
// Protocol. Seen on MariaDB 10.11.19 (BINWATCH_TRACE_REPLICATION=1 build/tests/
// replication_source_test logs every packet) and read in MariaDB sql/sql_repl.cc
// (mysql_binlog_send, send_one_binlog_file, fake_rotate_event, fake_gtid_list_event,
// send_format_descriptor_event, send_event_to_slave, fix_checksum) and MySQL
// sql/rpl_binlog_sender.cc (Binlog_sender::fake_rotate_event, send_format_description_event,
// send_heartbeat_event: the same fake ROTATE, the same log_pos/created zeroing and CRC fix of the
// FDE past 4, heartbeats with log_pos); the MySQL side is from the source only, not run here:
//
//  * Packets are 0x00 + one event (events over 16 MiB span several packets, which Connector/C's
//    net layer reassembles), 0xFE end-of-stream (non-blocking dumps only), or 0xFF + error
//    (e.g. 1236 "could not find first log file name", a purged binlog).
//  * Every dump starts, and every file switch is announced, with an artificial ROTATE: timestamp 0,
//    log_pos 0, flag LOG_EVENT_ARTIFICIAL_F (0x20), name of the file and position, and a CRC32
//    when the replica declared CRC32 (seen: 49 bytes = 19 + 8 + 18-byte name + 4). Not in the
//    file: dropped. After a real ROTATE (in the file: kept, it ends the file) the server sends the
//    artificial ROTATE of the next file, then that file's FDE unchanged (log_pos 256 on 10.11).
//    An artificial ROTATE naming another file while the current one has not ended with a real
//    ROTATE (server restarted: the file ends with STOP) ends the current file.
//  * The file's FORMAT_DESCRIPTION always follows the artificial ROTATE. When the dump starts at 4
//    it is the file's bytes with the in-use flag cleared (a closed file streams byte for byte).
//    When it starts at P > 4 the server also zeroes log_pos and create_timestamp ("if reconnect
//    master sends FD event with `created' as 0 to avoid destroying temp tables") and recomputes
//    the CRC32, but only when CRC32 was negotiated: with binlog_checksum=NONE the FDE (whose CRC
//    field a checksum-aware server always fills) arrives with a stale CRC, which made the scanner
//    call the FDE and then every event corrupt until binwatch fixed it. binwatch puts log_pos back
//    (4 + size) and recomputes the CRC (servers that know checksums), but cannot know the file's
//    create_timestamp (0 or the header timestamp), so that FDE copy differs from the file in
//    create_timestamp (body bytes 52..55) and the CRC only. Same size; the scanner counts it as
//    overhead. An FDE arriving after the file's header was produced (reconnect) is dropped.
//  * HEARTBEAT (27; MySQL 8.0.28+ also HEARTBEAT_V2, 41) after `heartbeat` of idleness: seen as
//    41 bytes (file name + CRC), timestamp 0, flags 0, log_pos = the end of the last event the
//    dump thread read. Never in files: dropped.
//  * GTID start (MariaDB, @slave_connect_state): the server streams the file that holds the GTID
//    from 4 (FDE, the file's GTID_LIST and BINLOG_CHECKPOINT, real events), skips the event groups
//    up to and including the replica's GTID without sending them, then sends an artificial
//    GTID_LIST (flag 0x20) whose log_pos is the offset where it resumes. binwatch drops the file-
//    head events and places the start there (or at the first GTID event or the first event after
//    a skipped stretch, or a heartbeat's log_pos), then fills with zeros as for a position start.
//  * Everything else is the file's event, byte for byte, log_pos = its end offset. The source
//    checks that (a hole is an error, never a silent miscount; log_pos 0, as MariaDB 11.4+ writes
//    for events from the transaction cache, is accepted unchecked).
//  * MariaDB sends every event only to a replica that says it can take them:
//    @mariadb_slave_capability = 4 (MARIA_SLAVE_CAPABILITY_GTID; lower capabilities get GTID,
//    GTID_LIST and BINLOG_CHECKPOINT rewritten into dummy events) and dump flag
//    BINLOG_SEND_ANNOTATE_ROWS_EVENT (2) (without it ANNOTATE_ROWS events are left out: a hole).
//  * Checksums: `SET @master_binlog_checksum = @@global.binlog_checksum` makes the replica
//    checksum-aware (a CRC32 server refuses the dump otherwise); events then keep their CRC32.
//  * Heartbeat: `SET @master_heartbeat_period = <nanoseconds>`.
//  * Server restart (tested by stopping and starting the test server): the dump sees 2013, the
//    reconnect is refused (2002) until the server is back, then resumes in the old file, which
//    ends with the STOP event (23 bytes with CRC) and no ROTATE; the server's artificial ROTATE to
//    the new file ends it (read() returns 0, next_file() gives the new file).
//  * `KILL <dump thread>` reaches the client as 2013 "Lost connection to server during query" (no
//    error packet); reconnecting with the same server_id makes the server kill any zombie dump of
//    that id.
//
// Why COM_BINLOG_DUMP is sent here rather than through Connector/C's mariadb_rpl_fetch(): the 3.3
// rpl API parses every event and fails the whole stream (RPL_SAFEGUARD "Packet corrupted") on an
// event it does not know or on a checksum it mis-reads, copies each event into a MEM_ROOT, and
// puts the packet's 0x00 byte in front of raw_data in some versions. binwatch needs the exact raw
// bytes and wants unknown or damaged events to reach its own decoder (counted, not fatal), so it
// sends the 11-byte COM_BINLOG_DUMP through the connection's db_command and reads raw packets with
// mysql_net_read_packet(), both public Connector/C API.
//
// Reconnect: a lost connection (KILL of the dump thread, server restart, read timeout = three
// heartbeat periods without a packet) reconnects after backoff_delay() and resumes at the end of
// the last complete event received in the current file; the bytes already returned are never
// returned again and the offsets continue seamlessly. A partial event is never produced: events
// are whole packets.
//
// Server-side requirements (grants): REPLICATION SLAVE (the dump), and on MariaDB 10.5+ BINLOG
// MONITOR (MySQL and older MariaDB: REPLICATION CLIENT) only when `file` is empty (the start is
// then read from SHOW MASTER STATUS). `server_id` must be non-zero and unique among the server's
// replicas: a dump with the id of another replica makes the server kill that replica's dump.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <condition_variable>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "binwatch/byte_source.h"
#include "binwatch/mysql/connection.h"

namespace binwatch::replication {

struct ReplicationOptions {
  mysql::ConnectionOptions connection;
  uint32_t server_id = 0;  // required, non-zero, unique among the server's replicas
  // Heartbeat period; the read timeout becomes 3 periods (at least 2 s). 0: no heartbeats, and
  // connection.read_timeout_s stays the read timeout.
  std::chrono::milliseconds heartbeat{1000};
  std::string file;        // binlog file to start in; empty: the server's current file and end
  uint64_t position = 4;   // start of an event in `file` (4 = the file's beginning)
  // MariaDB only: start after this GTID position (@slave_connect_state, e.g. "0-1-42"); `file` and
  // `position` are then ignored and the file and start position come from the server
  // (wait_for_start()). Single-domain positions only: events of other domains may be skipped by
  // the server, which would be a hole.
  std::string gtid_start;
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{30000};
  unsigned max_attempts = 0;   // consecutive failed connection attempts before giving up; 0 = never
  std::function<bool()> stop;  // optional: polled at every packet (heartbeats) and during back-off
  // Optional, called on the reading thread when the source is about to wait for the next packet
  // with nothing left to hand out (the socket has no byte ready; Connector/C's read-ahead cache
  // may still hold one, so a call can be early) and after every heartbeat. A consumer publishes
  // its state then; it must not block and may be called often (rate-limit it).
  std::function<void()> on_wait;
};

// The delay before reconnect attempt `attempt` (0 for the first retry): "full jitter" between
// `min` and a ceiling that doubles per attempt from 2 * `min` and is capped at `max`:
//   ceiling = min(max, min * 2^(attempt + 1));  delay = min + random01 * (ceiling - min)
// random01 in [0, 1). Pure, for tests; the source draws random01 from its own generator.
std::chrono::milliseconds backoff_delay(unsigned attempt, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double random01);

// The server's error codes after which reconnecting may help (connection lost or killed, server
// shutting down, too many connections, client-side network errors); others (access denied, 1236
// binlog missing) are fatal.
bool is_transient_error(unsigned code);

struct ReplicationStats {
  uint64_t connects = 0;    // successful dump starts (1 + reconnects)
  uint64_t reconnects = 0;
  uint64_t heartbeats = 0;  // dropped heartbeat events
  uint64_t artificial = 0;  // dropped artificial events (fake ROTATE, GTID_LIST) and FDE re-sends
  uint64_t events = 0;      // file events produced
};

class ReplicationSource : public ByteSource {
 public:
  // Does not connect: the first read() (or wait_for_start()) does.
  explicit ReplicationSource(ReplicationOptions options);
  ~ReplicationSource() override;
  ReplicationSource(const ReplicationSource&) = delete;
  ReplicationSource& operator=(const ReplicationSource&) = delete;

  // Blocks until bytes of the current file are available; returns 0 after the file's last event
  // (its ROTATE), or when stopped. Throws std::runtime_error (or mysql::MysqlError) on fatal
  // errors: access denied, binlog missing on the server, a hole in the stream, retries exhausted.
  size_t read(std::byte* dst, size_t n) override;
  // The current file's name.
  [[nodiscard]] const std::string& name() const override { return m_file; }

  // Connects if needed and blocks until the current file and its start position are known (for a
  // GTID or "current end" start). Returns false when stopped first.
  bool wait_for_start();
  // Where the events of the current file start (the scanner's filter.start_position): the
  // requested position in the first file, 4 in the following ones.
  [[nodiscard]] uint64_t start_position() const { return m_start_position.value_or(4); }

  // After read() returned 0 at the end of a file: moves to the next one and returns its name;
  // nullopt when stopped (or when the file has not ended).
  std::optional<std::string> next_file();
  [[nodiscard]] const std::string& current_file() const { return m_file; }
  // End offset of the last complete event handed out by read() (thread-safe). Resuming a new
  // source at (current_file(), position()) continues without a gap or a double count. A consumer
  // that checkpoints what it has attributed should prefer the ScanEvent::end of the last event
  // its observer saw (the scanner may hold bytes it has read but not yet decoded).
  [[nodiscard]] uint64_t position() const { return m_position.load(std::memory_order_acquire); }

  // Makes a blocked read() return 0 promptly (the socket is shut down, a back-off sleep is woken;
  // only a connect in progress can take up to connect_timeout_s); thread-safe, idempotent.
  void stop();
  [[nodiscard]] bool stopped() const;
  [[nodiscard]] ReplicationStats stats() const;

 private:
  // Reads packets (connecting and reconnecting as needed) until done(); false when stopped.
  bool pump(const std::function<bool()>& done);
  size_t drain(std::byte* dst, size_t n);
  [[nodiscard]] bool has_pending() const;
  bool connect_with_retry();
  void connect_once();
  void disconnect();
  enum class Packet { Event, Eof, Error };
  Packet read_packet(const std::byte*& data, size_t& size);
  void handle_event(const std::byte* data, size_t size);
  void start_file(const std::byte* fde, size_t size);
  void place_start(uint64_t begin);  // GTID start: filler up to the first event's offset
  void append(const std::byte* data, size_t size, bool is_event);
  bool sleep_backoff(std::chrono::milliseconds delay);

  ReplicationOptions m_opt;
  std::string m_endpoint;

  // Connection (m_conn is only touched by the reading thread; m_fd is shared with stop()).
  std::unique_ptr<mysql::Connection> m_conn;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  int m_fd = -1;
  std::atomic<bool> m_stop{false};
  std::mt19937_64 m_rng;

  // The current file.
  std::string m_file;
  std::optional<uint64_t> m_start_position;
  bool m_header_done = false;  // magic + FDE (+ filler) produced
  uint64_t m_event_end = 0;    // file offset after the last complete event received
  uint64_t m_skip_end = 0;     // GTID start: end of the file-head events left out before the start
  bool m_file_ended = false;
  std::string m_next_file;

  // Produced, not yet handed out.
  std::vector<std::byte> m_pending;
  size_t m_pending_pos = 0;
  size_t m_zero_at = 0;     // the filler goes before m_pending[m_zero_at]
  uint64_t m_zero_len = 0;  // filler bytes still to hand out
  uint64_t m_delivered = 0;                // file offset of the next byte read() hands out
  std::deque<uint64_t> m_event_ends;       // ends of events produced, not yet fully handed out
  std::atomic<uint64_t> m_position{0};

  ReplicationStats m_stats;
};

}  // namespace binwatch::replication
