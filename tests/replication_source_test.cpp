// Integration: ReplicationSource against a private MariaDB. The stream must be the binlog file's
// bytes (offset for offset), attribute exactly as the file read from disk, resume mid-file, follow
// rotation, survive a KILL of its dump thread and drop heartbeats.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "binwatch/attribution.h"
#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"
#include "binwatch/replication/replication_source.h"
#include "support/mariadb_server.h"

namespace binwatch::replication {
namespace {

using namespace std::chrono_literals;
using test::MariadbServer;

std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

ReplicationOptions options_for(const MariadbServer& server, std::string file, uint64_t position = 4) {
  ReplicationOptions o;
  o.connection.socket = server.socket();
  o.connection.user = "root";
  o.server_id = 4242;
  o.heartbeat = 200ms;
  o.file = std::move(file);
  o.position = position;
  o.backoff_min = 20ms;
  o.backoff_max = 500ms;
  o.max_attempts = 20;
  return o;
}

std::vector<std::string> workload_statements(int round) {
  const std::string r = std::to_string(round);
  return {"INSERT INTO app.posts (body) SELECT REPEAT('p" + r + "', 300) FROM app.seq_1_to_40",
          "INSERT INTO app.groups (name, n) VALUES ('g" + r + "', 0), ('h" + r + "', 1)",
          "UPDATE app.groups SET n = n + 1",
          "BEGIN",
          "INSERT INTO app.audit (what) VALUES ('a" + r + "')",
          "UPDATE app.posts SET body = CONCAT(body, 'x') WHERE id % 7 = 0",
          "COMMIT",
          "DELETE FROM app.posts WHERE id % 11 = " + std::to_string(round % 11)};
}

const std::vector<std::string> kSchema = {
    "CREATE DATABASE app",
    "CREATE TABLE app.posts (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)",
    "CREATE TABLE app.groups (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), n INT)",
    "CREATE TABLE app.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100))"};

void workload(MariadbServer& server, int round) {
  for (const auto& sql : workload_statements(round)) server.exec(sql);
}

void schema(MariadbServer& server) {
  for (const auto& sql : kSchema) server.exec(sql);
}

void expect_same_attribution(const Attribution& stream, const Attribution& disk, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(stream.total_bytes, disk.total_bytes);
  EXPECT_EQ(stream.other.statement, disk.other.statement);
  EXPECT_EQ(stream.other.overhead, disk.other.overhead);
  EXPECT_EQ(stream.other.magic, disk.other.magic);
  EXPECT_EQ(stream.other.excluded, disk.other.excluded);
  EXPECT_EQ(stream.other.torn, 0u);
  EXPECT_EQ(stream.other.corrupt, 0u);
  EXPECT_TRUE(stream.errors.empty());
  ASSERT_EQ(stream.tables().size(), disk.tables().size());
  for (const TableStats& d : disk.tables()) {
    const TableStats* s = stream.find(d.key.schema, d.key.table);
    ASSERT_NE(s, nullptr) << d.key.schema << "." << d.key.table;
    EXPECT_EQ(s->bytes, d.bytes) << d.key.table;
    EXPECT_EQ(s->events, d.events) << d.key.table;
    EXPECT_EQ(s->rows, d.rows) << d.key.table;
    EXPECT_EQ(s->inserts, d.inserts) << d.key.table;
    EXPECT_EQ(s->updates, d.updates) << d.key.table;
    EXPECT_EQ(s->deletes, d.deletes) << d.key.table;
  }
  const TableStats* posts = disk.find("app", "posts");
  ASSERT_NE(posts, nullptr);
  EXPECT_GT(posts->bytes, 0u);
}

Attribution scan_disk(const std::filesystem::path& path, std::optional<uint64_t> start = std::nullopt) {
  Attribution a;
  FileSource source(path.string());
  ScanOptions options;
  options.filter.start_position = start;
  scan_binlog(source, a, options);
  return a;
}

// Reads the current file of `source` to its end (read() == 0).
std::vector<std::byte> read_file(ReplicationSource& source) {
  std::vector<std::byte> out;
  std::byte buf[4096];
  while (size_t n = source.read(buf, sizeof buf)) out.insert(out.end(), buf, buf + n);
  return out;
}

struct TransactionStarts : ScanObserver {
  std::vector<uint64_t> offsets;
  void on_event(const ScanEvent& e) override {
    if (e.begins_transaction && !e.in_payload) offsets.push_back(e.offset);
  }
};

class ReplicationSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BINWATCH_REQUIRE_MARIADB();
    // BINWATCH_TRACE_REPLICATION=1 logs every packet the server sends (type, size, log_pos, flags).
    if (std::getenv("BINWATCH_TRACE_REPLICATION")) spdlog::set_level(spdlog::level::trace);
  }
};

TEST_F(ReplicationSourceTest, StreamFromFileStartIsTheFileByteForByte) {
  MariadbServer server;
  schema(server);
  for (int round = 0; round < 4; ++round) workload(server, round);
  const auto files = server.binlog_files();
  server.flush_binary_logs();  // the file now ends with ROTATE: read() returns 0 there
  const std::filesystem::path path = files.back();

  ReplicationSource source(options_for(server, path.filename().string()));
  const std::vector<std::byte> streamed = read_file(source);
  const std::vector<std::byte> disk = file_bytes(path);
  ASSERT_EQ(streamed.size(), disk.size());
  EXPECT_TRUE(streamed == disk) << "a closed file streams identically, FDE included";
  EXPECT_EQ(source.position(), disk.size());
  const auto next = source.next_file();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, server.binlog_files().back().filename().string());
  EXPECT_EQ(source.stats().reconnects, 0u);

  // And through the scanner: the same attribution as the file on disk.
  ReplicationSource again(options_for(server, path.filename().string()));
  Attribution live;
  const FileSummary summary = scan_binlog(again, live);
  EXPECT_EQ(summary.path, path.filename().string());
  expect_same_attribution(live, scan_disk(path), "from offset 4");
  EXPECT_EQ(live.total_bytes, disk.size());
}

struct Variant {
  std::string name;
  MariadbServer::Options options;
};

class ReplicationVariants : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override { BINWATCH_REQUIRE_MARIADB(); }
};

// A mid-file start under each binlog variant: CRC32 or no checksums (the server then leaves the
// FDE's trailing CRC field as it was: binwatch must not make it worse), compressed events.
TEST_P(ReplicationVariants, ResumeAtTransactionBoundaryMatchesStartPosition) {
  MariadbServer server(GetParam().options);
  schema(server);
  for (int round = 0; round < 6; ++round) workload(server, round);
  const std::filesystem::path path = server.binlog_files().back();
  server.flush_binary_logs();

  TransactionStarts starts;
  {
    Attribution a;
    FileSource f(path.string());
    ScanOptions o;
    o.observer = &starts;
    scan_binlog(f, a, o);
  }
  ASSERT_GT(starts.offsets.size(), 10u);
  const uint64_t p = starts.offsets[starts.offsets.size() / 2];

  ReplicationSource source(options_for(server, path.filename().string(), p));
  ASSERT_TRUE(source.wait_for_start());
  EXPECT_EQ(source.start_position(), p);
  ScanOptions o;
  o.filter.start_position = source.start_position();
  Attribution live;
  scan_binlog(source, live, o);
  expect_same_attribution(live, scan_disk(path, p), "from a mid-file transaction start");

  // Bytes: the file's own from P on; before it the magic, the FDE and zero filler. The server sends
  // the FDE of a dump that starts past 4 with log_pos and create_timestamp zeroed and the CRC32
  // recomputed (sql_repl.cc send_format_descriptor_event); binwatch restores log_pos, so only
  // create_timestamp (body offset 52: binlog_version 2 + server_version 50) and the CRC differ.
  ReplicationSource raw(options_for(server, path.filename().string(), p));
  const auto streamed = read_file(raw);
  const auto disk = file_bytes(path);
  ASSERT_EQ(streamed.size(), disk.size());
  const uint32_t fde_size = std::to_integer<uint32_t>(disk[4 + 9]) |
                            std::to_integer<uint32_t>(disk[4 + 10]) << 8;
  const size_t created_at = 4 + 19 + 2 + 50, crc_at = 4 + fde_size - 4;
  for (size_t i = 0; i < 4 + fde_size; ++i) {
    if (i >= created_at && i < created_at + 4) {
      EXPECT_EQ(streamed[i], std::byte{0}) << i;
    } else if (i < crc_at) {
      EXPECT_EQ(streamed[i], disk[i]) << "FDE byte " << i;
    }
  }
  EXPECT_TRUE(binlog::checksum_matches(Bytes(streamed).subspan(4, fde_size)));
  EXPECT_TRUE(std::all_of(streamed.begin() + 4 + fde_size, streamed.begin() + p,
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_TRUE(std::equal(disk.begin() + p, disk.end(), streamed.begin() + p));
  EXPECT_GE(raw.stats().artificial, 1u);  // the fake ROTATE at least
}

MariadbServer::Options variant(test::BinlogChecksum checksum, bool compress) {
  MariadbServer::Options o;
  o.checksum = checksum;
  o.compress = compress;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Binlogs, ReplicationVariants,
    ::testing::Values(Variant{"crc32", variant(test::BinlogChecksum::Crc32, false)},
                      Variant{"no_checksum", variant(test::BinlogChecksum::None, false)},
                      Variant{"compressed", variant(test::BinlogChecksum::Crc32, true)}),
    [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

TEST_F(ReplicationSourceTest, GtidStartFindsTheFileAndPosition) {
  MariadbServer server;
  schema(server);
  for (int round = 0; round < 3; ++round) workload(server, round);
  const std::string gtid = *server.query("SELECT @@gtid_binlog_pos")[0][0];
  const auto status = server.query("SHOW MASTER STATUS");
  const std::string file = *status[0][0];
  const uint64_t p = std::stoull(*status[0][1]);

  auto o = options_for(server, "");
  o.gtid_start = gtid;
  {
    // Idle server: nothing after the GTID yet. The server skips the groups up to the GTID and
    // sends an artificial GTID_LIST whose log_pos is where it resumes: that places the start.
    ReplicationSource idle(o);
    ASSERT_TRUE(idle.wait_for_start());
    EXPECT_EQ(idle.current_file(), file);
    EXPECT_EQ(idle.start_position(), p);
    EXPECT_GE(idle.stats().artificial, 2u);  // fake ROTATE, fake GTID_LIST
  }
  for (int round = 3; round < 6; ++round) workload(server, round);
  server.flush_binary_logs();
  ReplicationSource source(o);  // the first event after the GTID places the start
  ASSERT_TRUE(source.wait_for_start());
  EXPECT_EQ(source.current_file(), file);
  EXPECT_EQ(source.start_position(), p);
  ScanOptions so;
  so.filter.start_position = source.start_position();
  Attribution live;
  scan_binlog(source, live, so);
  expect_same_attribution(live, scan_disk(server.binlog_dir() / file, p), "after GTID " + gtid);
}

TEST_F(ReplicationSourceTest, GrantsReplicationSlaveAndForTheCurrentEndBinlogMonitor) {
  MariadbServer server;
  schema(server);
  workload(server, 0);
  const std::string file = server.binlog_files().back().filename().string();
  server.flush_binary_logs();
  server.exec("CREATE USER 'norepl'@'localhost'; GRANT SELECT ON app.* TO 'norepl'@'localhost';"
              "CREATE USER 'repl'@'localhost'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'localhost';"
              "CREATE USER 'replmon'@'localhost';"
              "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'replmon'@'localhost'");
  std::byte buf[4096];
  auto as = [&](const char* user, std::string f) {
    auto o = options_for(server, std::move(f));
    o.connection.user = user;
    return o;
  };
  {
    ReplicationSource source(as("repl", file));  // REPLICATION SLAVE streams a file
    Attribution live;
    scan_binlog(source, live);
    expect_same_attribution(live, scan_disk(server.binlog_dir() / file), "as repl");
  }
  {
    ReplicationSource source(as("norepl", file));  // refused at once, not retried
    try {
      (void)source.read(buf, sizeof buf);
      ADD_FAILURE() << "a dump without REPLICATION SLAVE was accepted";
    } catch (const mysql::MysqlError& e) {
      EXPECT_EQ(e.code(), 1227u) << e.what();  // ER_SPECIFIC_ACCESS_DENIED_ERROR
    }
    EXPECT_EQ(source.stats().reconnects, 0u);
  }
  {
    ReplicationSource source(as("repl", ""));  // current end: SHOW MASTER STATUS refused
    EXPECT_THROW((void)source.wait_for_start(), mysql::MysqlError);
  }
  {
    ReplicationSource source(as("replmon", ""));
    ASSERT_TRUE(source.wait_for_start());
    EXPECT_EQ(source.current_file(), server.binlog_files().back().filename().string());
  }
}

TEST_F(ReplicationSourceTest, EventOver16MiBArrivesWhole) {
  MariadbServer::Options so;
  so.extra = {"max_allowed_packet=64M"};
  MariadbServer server(so);
  server.exec("CREATE DATABASE big; CREATE TABLE big.b (id INT PRIMARY KEY, payload LONGBLOB);"
              "INSERT INTO big.b VALUES (1, REPEAT('z', 20 * 1024 * 1024))");
  const std::filesystem::path path = server.binlog_files().back();
  server.flush_binary_logs();
  ReplicationSource source(options_for(server, path.filename().string()));
  const auto streamed = read_file(source);  // the rows event spans two 16 MiB packets
  const auto disk = file_bytes(path);
  EXPECT_GT(disk.size(), 20u << 20);
  EXPECT_TRUE(streamed == disk);
}

std::vector<std::string> dump_threads(MariadbServer& server) {
  std::vector<std::string> ids;
  for (const auto& row : server.query("SELECT ID FROM information_schema.PROCESSLIST "
                                      "WHERE COMMAND = 'Binlog Dump'"))
    if (!row.empty() && row[0]) ids.push_back(*row[0]);
  return ids;
}

void wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
}

TEST_F(ReplicationSourceTest, RotationKillOfTheDumpThreadAndHeartbeatsKeepTotalsExact) {
  MariadbServer server;
  schema(server);
  workload(server, 0);
  const std::string first = server.binlog_files().back().filename().string();

  ReplicationSource source(options_for(server, first));
  struct FileResult {
    std::string name;
    Attribution attribution;
  };
  constexpr int kFiles = 3;
  std::atomic<int> files_done{0};  // current_file() belongs to the consumer thread
  auto consumer = std::async(std::launch::async, [&] {
    std::vector<FileResult> results;
    for (int i = 0; i < kFiles; ++i) {
      FileResult r;
      r.name = source.current_file();
      scan_binlog(source, r.attribution);
      if (source.stopped()) break;
      results.push_back(std::move(r));
      if (i + 1 < kFiles && !source.next_file()) break;
      ++files_done;  // after next_file(): position() now counts in the next file
    }
    return results;
  });

  // Mid-file kill: the stream has delivered events of the first file, more follow after the kill.
  wait_for([&] { return source.position() > 1000 && !dump_threads(server).empty(); }, 10s);
  ASSERT_GT(source.position(), 1000u);
  const uint64_t before_kill = source.position();
  for (const auto& id : dump_threads(server)) server.exec("KILL " + id);
  workload(server, 1);
  wait_for([&] { return source.stats().reconnects >= 1; }, 10s);
  std::this_thread::sleep_for(1s);  // idle: heartbeats every 200 ms
  workload(server, 2);
  server.flush_binary_logs();
  workload(server, 3);
  // A second kill, in the second file.
  wait_for([&] { return files_done >= 1 && source.position() > 1000 && !dump_threads(server).empty(); },
           10s);
  for (const auto& id : dump_threads(server)) server.exec("KILL " + id);
  workload(server, 4);
  server.flush_binary_logs();
  workload(server, 5);
  server.flush_binary_logs();

  if (consumer.wait_for(30s) != std::future_status::ready) {
    source.stop();
    consumer.wait();
    FAIL() << "the stream did not reach the end of the third file";
  }
  const auto results = consumer.get();
  ASSERT_EQ(results.size(), static_cast<size_t>(kFiles));
  const auto files = server.binlog_files();
  for (const FileResult& r : results) {
    const auto it = std::find_if(files.begin(), files.end(),
                                 [&](const auto& p) { return p.filename().string() == r.name; });
    ASSERT_NE(it, files.end()) << r.name;
    expect_same_attribution(r.attribution, scan_disk(*it), r.name);
    EXPECT_EQ(r.attribution.total_bytes, std::filesystem::file_size(*it));
  }
  const ReplicationStats stats = source.stats();
  EXPECT_GE(stats.reconnects, 2u);
  EXPECT_GE(stats.heartbeats, 2u);
  EXPECT_GT(before_kill, 0u);
}

TEST_F(ReplicationSourceTest, StopWakesABlockedRead) {
  MariadbServer server;
  schema(server);
  auto o = options_for(server, "");  // the server's current end
  o.heartbeat = 5s;                  // stop must not wait for a heartbeat
  ReplicationSource source(o);
  ASSERT_TRUE(source.wait_for_start());
  EXPECT_EQ(source.current_file(), server.binlog_files().back().filename().string());
  auto reader = std::async(std::launch::async, [&] {
    std::vector<std::byte> header = read_file(source);  // magic, FDE, filler, then blocks
    return header.size();
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(reader.wait_for(0ms), std::future_status::timeout);
  const auto t0 = std::chrono::steady_clock::now();
  source.stop();
  ASSERT_EQ(reader.wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(reader.get(), source.start_position());
  EXPECT_TRUE(source.stopped());
}

// A server restart, with the harness's script directly (MariadbServer cannot restart): the file
// being streamed ends with STOP and no ROTATE; the source reconnects with back-off, the server's
// artificial ROTATE to the new file ends the old one, and both files total exactly.
TEST_F(ReplicationSourceTest, ServerRestartEndsTheFileAndResumes) {
  char tmpl[] = "/tmp/binwatch-repl-restart-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string script = test::source_path("scripts/mariadb-test-server.sh").string();
  const std::string owner = std::to_string(getpid());
  auto start = [&] {
    const auto r = test::run_command({"bash", script, "start", "--dir", dir.string(), "--owner-pid", owner});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  struct Cleanup {
    std::string script, dir;
    ~Cleanup() { (void)test::run_command({"bash", script, "stop", "--dir", dir}); }
  } cleanup{script, dir.string()};
  start();
  std::map<std::string, std::string> env;
  {
    std::ifstream in(dir / "env");
    for (std::string line; std::getline(in, line);)
      if (auto eq = line.find('='); eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ASSERT_FALSE(env["SOCKET"].empty());
  const std::filesystem::path binlog_dir = env["BINLOG_DIR"];
  mysql::ConnectionOptions co;
  co.socket = env["SOCKET"];
  co.user = "root";
  auto run = [&](const std::vector<std::string>& statements) {
    mysql::Connection c(co);
    for (const auto& sql : statements) c.exec(sql);
  };
  run(kSchema);
  run(workload_statements(0));
  std::string first;
  {
    mysql::Connection c(co);
    first = *c.query("SHOW MASTER STATUS").rows.at(0).at(0);
  }

  ReplicationOptions o;
  o.connection = co;
  o.server_id = 4343;
  o.heartbeat = 200ms;
  o.file = first;
  o.backoff_min = 50ms;
  o.backoff_max = 400ms;
  o.max_attempts = 100;
  ReplicationSource source(o);
  std::atomic<int> files_done{0};
  auto consumer = std::async(std::launch::async, [&] {
    std::vector<std::pair<std::string, Attribution>> results;
    for (int i = 0; i < 2; ++i) {
      std::pair<std::string, Attribution> r{source.current_file(), {}};
      scan_binlog(source, r.second);
      if (source.stopped()) break;
      results.push_back(std::move(r));
      if (i == 0 && !source.next_file()) break;
      ++files_done;
    }
    return results;
  });
  wait_for([&] { return source.position() > 1000; }, 10s);
  ASSERT_GT(source.position(), 1000u);
  {
    const auto r = test::run_command({"bash", script, "stop", "--dir", dir.string(), "--keep"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  start();
  run(workload_statements(1));
  run({"FLUSH BINARY LOGS"});
  if (consumer.wait_for(30s) != std::future_status::ready) {
    source.stop();
    consumer.wait();
    FAIL() << "the stream did not reach the end of the file after the restart";
  }
  const auto results = consumer.get();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].first, first);
  EXPECT_NE(results[1].first, first);
  for (const auto& [name, live] : results) {
    expect_same_attribution(live, scan_disk(binlog_dir / name), name);
    EXPECT_EQ(live.total_bytes, std::filesystem::file_size(binlog_dir / name));
  }
  EXPECT_EQ(results[0].second.find("app", "posts")->inserts, 40u);  // round 0, before the restart
  EXPECT_GE(source.stats().reconnects, 1u);
}

}  // namespace
}  // namespace binwatch::replication
