// Replication health (issue 9) with the real executable against two private MariaDB servers, a
// primary and a replica replicating over TCP on 127.0.0.1. binwatch runs on the primary with the
// accounts and grants the README documents (nothing more), writes the heartbeat, and watches the
// replica through [[replicas]]:
//  (a) STOP SLAVE SQL_THREAD while the primary writes: heartbeat lag rises, running{sql} = 0;
//      START SLAVE SQL_THREAD: lag back near 0;
//  (b) the replica asks for a purged binlog: IO error 1236 detected and explained;
//  (c) copies of a binlog cut mid-event, with a flipped byte and with an event cut short, dropped
//      into the watched folder, and a byte flipped in a served file before the follower's start:
//      integrity findings at the exact offsets, with the last good position (both computed here
//      by walking the event headers) and where the replica stands;
//  (d) heartbeat lag agrees with the replica's Seconds_Behind_Master within a second in steady
//      replication (and within 1.5 s with MASTER_DELAY = 2, where both views are quantised to the
//      events' whole-second timestamps).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/test_bytes.h"
#include "support/mariadb_server.h"
#include "support/watch_daemon.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using binwatch::test::Http;
using binwatch::test::MariadbServer;
using binwatch::test::ScratchDir;
using binwatch::test::wait_for;
using binwatch::test::WatchDaemon;
using binwatch::test::EventSpan;
using binwatch::test::read_text;
using binwatch::test::walk_event_headers;
using Clock = std::chrono::steady_clock;


// The largest event in the middle third (a rows event of the fat inserts), not the last.
size_t pick_event(const std::vector<EventSpan>& events) {
  size_t best = events.size() / 3;
  for (size_t i = events.size() / 3; i + 2 < events.size() && i < 2 * events.size() / 3 + 1; ++i)
    if (events[i].size > events[best].size) best = i;
  return best;
}

// A metric sample's value by name and exact label text ({replica="r1",thread="sql"}), or NaN.
double metric(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string prefix = name + labels + " ";
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
  return std::nan("");
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  // As if copied a while ago: the checker waits for files to settle for 2 s.
  fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::seconds(30));
}

class ReplicaHealth : public ::testing::Test {
 protected:
  void SetUp() override {
    BINWATCH_REQUIRE_MARIADB();
    primary = std::make_unique<MariadbServer>();
    MariadbServer::Options second;
    second.server_id = 2;
    replica = std::make_unique<MariadbServer>(second);
    replica->replicate_from(*primary);
    primary->exec(
        "CREATE DATABASE hb; CREATE TABLE hb.heartbeat (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL "
        "PRIMARY KEY, file varchar(255) DEFAULT NULL, position bigint unsigned DEFAULT NULL, relay_master_log_file "
        "varchar(255) DEFAULT NULL, exec_master_log_pos bigint unsigned DEFAULT NULL);"
        "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, fat TEXT)");
    ASSERT_TRUE(replica->wait_caught_up(*primary)) << replica->slave_status()["Last_SQL_Error"];
    // The README's grants, not binlogged (each server gets its own account).
    primary->exec(
        "SET SESSION sql_log_bin = 0;"
        "CREATE USER bw@localhost IDENTIFIED BY 'bw-primary';"
        "GRANT PROCESS, BINLOG MONITOR, REPLICATION MASTER ADMIN ON *.* TO bw@localhost;"
        "GRANT SELECT, INSERT, UPDATE ON hb.heartbeat TO bw@localhost; SET SESSION sql_log_bin = 1");
    replica->exec(
        "SET SESSION sql_log_bin = 0;"
        "CREATE USER bwmon@localhost IDENTIFIED BY 'bw-replica';"
        "GRANT SLAVE MONITOR ON *.* TO bwmon@localhost;"
        "GRANT SELECT ON hb.heartbeat TO bwmon@localhost; SET SESSION sql_log_bin = 1");
    std::ofstream(scratch.path() / "primary.cnf")
        << "[client]\nuser = bw\npassword = bw-primary\nsocket = " << primary->socket() << "\n";
    std::ofstream(scratch.path() / "replica.cnf")
        << "[client]\nuser = bwmon\npassword = bw-replica\nsocket = " << replica->socket() << "\n";
  }

  void start_daemon() {
    port = binwatch::test::free_port();
    // Replica lag is a throttle input (issue 6): bulk jobs pause while a replica is over 2 s behind.
    std::ofstream(scratch.path() / "throttle.toml")
        << "hold = \"1s\"\n[[level]]\nname = \"replica-behind\"\nreplica_lag_above = \"2s\"\n"
           "release_replica_lag_below = \"1s\"\ncooperative = \"pause\"\n";
    std::ofstream(scratch.path() / "binwatch.toml")
        << "[source]\nbinlog_dir = \"" << primary->binlog_dir().string() << "\"\nstart = \"end\"\npoll_interval_ms = 100\n"
        << "[state]\ndir = \"" << (scratch.path() / "state").string() << "\"\n"
        << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
        << "[mysql]\ndefaults_file = \"" << (scratch.path() / "primary.cnf").string()
        << "\"\npoll_interval_ms = 500\ntimeout_s = 2\n"
        << "[heartbeat]\ntable = \"hb.heartbeat\"\ninterval_ms = 200\n"
        << "[integrity]\ninterval_ms = 300\nmax_read_bytes_per_second = 1073741824\n"
        << "[[replicas]]\nname = \"r1\"\ndefaults_file = \"" << (scratch.path() / "replica.cnf").string()
        << "\"\npoll_interval_ms = 250\ntimeout_s = 2\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n"
        << "[partitions]\nsample_interval_ms = 250\n"
        << "[throttle]\npolicy = \"" << (scratch.path() / "throttle.toml").string() << "\"\n";
    daemon = std::make_unique<WatchDaemon>(scratch.path() / "binwatch.toml", scratch.path() / "daemon.log");
    http.port = port;
    ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 15000)) << daemon->log();
  }

  json replica_status() {
    auto s = http.status();
    if (!s || (*s)["replicas"].empty()) return json();
    return (*s)["replicas"][0];
  }
  std::string describe() {
    auto s = http.status();
    return "daemon log:\n" + daemon->log() + "\nstatus: " + (s ? s->dump(1) : std::string("none"));
  }
  // Heartbeat lag as the daemon reports it (negative: none yet).
  double heartbeat_lag() {
    const json r = replica_status();
    if (!r.is_object() || !r["up"].get<bool>() || r["heartbeat"]["lag_seconds"].is_null()) return -1;
    return r["heartbeat"]["lag_seconds"].get<double>();
  }

  ScratchDir scratch{"binwatch-replica-health"};
  std::unique_ptr<MariadbServer> primary, replica;
  std::unique_ptr<WatchDaemon> daemon;
  Http http{0};
  int port = 0;
};

TEST_F(ReplicaHealth, SqlThreadStoppedLagRisesAndRecovers) {
  start_daemon();
  ASSERT_TRUE(wait_for([&] { double l = heartbeat_lag(); return l >= 0 && l < 1.0; }, 15000)) << describe();
  const json before = replica_status();
  EXPECT_TRUE(before["io"]["running"].get<bool>());
  EXPECT_TRUE(before["sql"]["running"].get<bool>());
  EXPECT_EQ(before["server_id"], 2);
  EXPECT_EQ(before["heartbeat"]["server_id"], 1);  // the primary's row
  // Discovery and heartbeat writes work with the documented grants alone.
  ASSERT_TRUE(wait_for([&] { return (*http.status())["replication"]["dump_threads"].size() >= 1; }, 10000))
      << describe();
  const json rep = (*http.status())["replication"];
  EXPECT_TRUE(rep["discovery_error"].is_null()) << rep.dump();
  EXPECT_TRUE(rep["heartbeat"]["error"].is_null()) << rep.dump();
  EXPECT_GT(rep["heartbeat"]["writes"].get<int>(), 0);
  EXPECT_EQ(replica_status()["registered_with_primary"], true) << rep.dump();

  ScratchDir cli("binwatch-replicas-cli");
  const auto healthy = binwatch::test::run_process(
      BINWATCH_EXE, {"replicas", "--url", "http://127.0.0.1:" + std::to_string(port)}, cli.path());
  EXPECT_EQ(healthy.exit_code, 0) << healthy.out << healthy.err;
  EXPECT_NE(healthy.out.find("replica r1"), std::string::npos) << healthy.out;

  replica->exec("STOP SLAVE SQL_THREAD");
  const auto stopped_at = Clock::now();
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    auto c = primary->connect();
    for (int i = 0; writing.load() && i < 200; ++i) {
      mysql_query(c.get(), "INSERT INTO app.t (fat) VALUES (REPEAT('x', 500))");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const bool rose = wait_for([&] { return heartbeat_lag() > 3.0; }, 15000);
  const double rise_s = std::chrono::duration<double>(Clock::now() - stopped_at).count();
  const std::string metrics = http.get("/metrics").value_or("");
  writing.store(false);
  writer.join();
  ASSERT_TRUE(rose) << describe();
  EXPECT_EQ(metric(metrics, "binwatch_replica_running", "{replica=\"r1\",thread=\"sql\"}"), 0) << metrics;
  EXPECT_EQ(metric(metrics, "binwatch_replica_running", "{replica=\"r1\",thread=\"io\"}"), 1);
  EXPECT_GT(metric(metrics, "binwatch_replica_lag_seconds", "{replica=\"r1\",source=\"heartbeat\"}"), 3.0);
  // Seconds_Behind_Master is NULL with the SQL thread stopped: no sample rather than a stale one.
  EXPECT_TRUE(std::isnan(metric(metrics, "binwatch_replica_lag_seconds", "{replica=\"r1\",source=\"seconds_behind\"}")));
  EXPECT_EQ(metric(metrics, "binwatch_replica_up", "{replica=\"r1\"}"), 1);
  // promtool on the scrape with every replication family, when Debian's prometheus is installed.
  if (fs::exists("/usr/bin/promtool")) {
    std::ofstream(scratch.path() / "scrape.txt") << metrics;
    const int rc = std::system(("/usr/bin/promtool check metrics < " + (scratch.path() / "scrape.txt").string() +
                                " > " + (scratch.path() / "promtool.out").string() + " 2>&1").c_str());
    EXPECT_EQ(rc, 0) << read_text(scratch.path() / "promtool.out");
  }
  // The lag reached the throttle: /check pauses bulk jobs and says which input decided.
  auto check = [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(2);
    auto r = c.Get("/check/cleanup");
    return r ? std::make_pair(r->status, json::parse(r->body, nullptr, false)) : std::make_pair(0, json());
  };
  ASSERT_TRUE(wait_for([&] { return check().first == 429; }, 5000)) << describe();
  EXPECT_NE(check().second["Message"].get<std::string>().find("s behind (replica-behind above 2 s)"), std::string::npos)
      << check().second.dump();
  const json during = replica_status();
  EXPECT_EQ(during["sql"]["state"], "stopped");
  EXPECT_GT(during["relay_log_space"].get<double>(), 0);

  replica->exec("START SLAVE SQL_THREAD");
  const auto restarted_at = Clock::now();
  ASSERT_TRUE(wait_for([&] { double l = heartbeat_lag(); return l >= 0 && l < 1.0; }, 15000)) << describe();
  EXPECT_TRUE(wait_for([&] { return check().first == 200; }, 5000)) << "jobs resume once the lag is under 1 s for 1 s\n"
                                                                    << describe();
  const double recover_s = std::chrono::duration<double>(Clock::now() - restarted_at).count();
  EXPECT_TRUE(replica_status()["sql"]["running"].get<bool>());
  std::cout << "[ measured ] heartbeat lag passed 3 s " << rise_s << " s after STOP SLAVE SQL_THREAD; back under 1 s "
            << recover_s << " s after START SLAVE SQL_THREAD\n";
}

TEST_F(ReplicaHealth, PurgedBinlogGives1236Explained) {
  start_daemon();
  ASSERT_TRUE(wait_for([&] { return replica_status().is_object() && replica_status()["up"].get<bool>(); }, 15000))
      << describe();
  replica->exec("STOP SLAVE");
  const std::string purged = replica->slave_status()["Master_Log_File"];
  primary->exec("INSERT INTO app.t (fat) VALUES ('a')");
  primary->flush_binary_logs();
  primary->flush_binary_logs();
  // The primary keeps files a dump thread still reads: wait until the stopped replica's is gone.
  ASSERT_TRUE(wait_for([&] {
    return primary->query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
               .at(0).at(0) == "0";
  }, 10000));
  const std::string newest = primary->binlog_files().back().filename().string();
  // The server keeps files until InnoDB has checkpointed their transactions: retry a little.
  ASSERT_TRUE(wait_for([&] {
    primary->exec("PURGE BINARY LOGS TO '" + newest + "'");
    return primary->binlog_files().front().filename().string() == newest;
  }, 10000)) << "the purge did not happen";
  replica->exec("CHANGE MASTER TO MASTER_LOG_FILE = '" + purged + "', MASTER_LOG_POS = 4; START SLAVE");
  const auto started = Clock::now();
  ASSERT_TRUE(wait_for([&] { return replica_status()["io"]["last_errno"] == 1236; }, 15000)) << describe();
  const double seen_s = std::chrono::duration<double>(Clock::now() - started).count();
  const json r = replica_status();
  EXPECT_FALSE(r["io"]["running"].get<bool>());
  const std::string why = r["io"]["explanation"].get<std::string>();
  EXPECT_NE(why.find("the replica asked for a binlog position the primary no longer has (purged) or that is damaged"),
            std::string::npos) << why;
  EXPECT_NE(why.find("purged from the primary"), std::string::npos) << why;
  EXPECT_NE(r["io"]["last_error"].get<std::string>().find("1236"), std::string::npos);
  const std::string metrics = http.get("/metrics").value_or("");
  EXPECT_EQ(metric(metrics, "binwatch_replica_last_error_number", "{replica=\"r1\",thread=\"io\"}"), 1236) << metrics;
  EXPECT_EQ(metric(metrics, "binwatch_replica_running", "{replica=\"r1\",thread=\"io\"}"), 0);
  // `binwatch replicas` says the same to a person, and fails.
  ScratchDir cli("binwatch-replicas-cli");
  const auto shown = binwatch::test::run_process(
      BINWATCH_EXE, {"replicas", "--url", "http://127.0.0.1:" + std::to_string(port)}, cli.path());
  EXPECT_EQ(shown.exit_code, 1) << shown.out << shown.err;
  EXPECT_NE(shown.out.find("error 1236"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("meaning: the replica asked for a binlog position"), std::string::npos) << shown.out;
  const auto as_json = binwatch::test::run_process(
      BINWATCH_EXE, {"replicas", "--json", "--url", "http://127.0.0.1:" + std::to_string(port)}, cli.path());
  EXPECT_EQ(as_json.exit_code, 1);
  EXPECT_FALSE(json::parse(as_json.out)["healthy"].get<bool>());
  std::cout << "[ measured ] 1236 in status " << seen_s << " s after START SLAVE: " << r["io"]["last_error"] << "\n";
}

TEST_F(ReplicaHealth, DamagedBinlogsInTheFolderAreLocated) {
  // Rows in the first file, then a rotation: the daemon starts in a later file, so the first one
  // is history the checker verifies (and the replica has read past it).
  for (int i = 0; i < 20; ++i) primary->exec("INSERT INTO app.t (fat) VALUES (REPEAT('h', 3000))");
  primary->flush_binary_logs();
  ASSERT_TRUE(replica->wait_caught_up(*primary));
  start_daemon();
  for (int i = 0; i < 20; ++i) primary->exec("INSERT INTO app.t (fat) VALUES (REPEAT('y', 2000))");
  primary->flush_binary_logs();
  const auto files = primary->binlog_files();
  ASSERT_GE(files.size(), 3u);
  const std::string finished = read_text(files[files.size() - 2]);
  const auto events = walk_event_headers(finished);
  ASSERT_EQ(events.back().offset + events.back().size, finished.size());
  const EventSpan e = events[pick_event(events)];
  ASSERT_GE(e.size, 100u);

  const fs::path dir = primary->binlog_dir();
  write_file(dir / "mariadb-bin.000099", finished.substr(0, e.offset + e.size / 2));  // cut mid-event
  std::string flipped = finished;
  flipped[e.offset + e.size / 2] = static_cast<char>(flipped[e.offset + e.size / 2] ^ 0x10);
  write_file(dir / "mariadb-bin.000098", flipped);
  write_file(dir / "mariadb-bin.000097", finished.substr(0, e.offset + e.size / 2) + finished.substr(e.offset + e.size));
  // A served file the follower never read: one byte of its largest event flipped in place.
  std::string first = read_text(files[0]);
  const auto first_events = walk_event_headers(first);
  const EventSpan f = first_events[pick_event(first_events)];
  {
    std::fstream io(files[0], std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(f.offset + 30));
    io.put(static_cast<char>(first[f.offset + 30] ^ 0x04));
  }
  fs::last_write_time(files[0], fs::file_time_type::clock::now() - std::chrono::seconds(20));
  const auto placed = Clock::now();

  auto finding = [&](const json& s, const std::string& file) -> json {
    for (const auto& x : s["integrity"])
      if (x["file"] == file) return x;
    return json();
  };
  ASSERT_TRUE(wait_for([&] {
    auto s = http.status();
    if (!s) return false;
    for (const char* n : {"mariadb-bin.000099", "mariadb-bin.000098", "mariadb-bin.000097"})
      if (finding(*s, n).is_null()) return false;
    return !finding(*s, files[0].filename().string()).is_null();
  }, 15000)) << describe();
  const double seen_s = std::chrono::duration<double>(Clock::now() - placed).count();
  const json s = *http.status();

  const json torn = finding(s, "mariadb-bin.000099");
  EXPECT_EQ(torn["kind"], "torn");
  EXPECT_EQ(torn["offset"], e.offset);
  EXPECT_EQ(torn["bytes"], e.size / 2);
  EXPECT_EQ(torn["last_good_position"], e.offset);
  EXPECT_EQ(torn["cause"],
            "binlog truncated in the middle of an event: the disk filled or the server crashed while writing");
  EXPECT_EQ(torn["source"], "checker");
  EXPECT_FALSE(torn["served"].get<bool>());
  EXPECT_TRUE(torn["replicas"].is_null());  // a file the server does not serve

  const json corrupt = finding(s, "mariadb-bin.000098");
  EXPECT_EQ(corrupt["kind"], "corrupt");
  EXPECT_EQ(corrupt["offset"], e.offset);
  EXPECT_EQ(corrupt["last_good_position"], e.offset);
  EXPECT_EQ(corrupt["cause"], "checksum mismatch: the file was changed or damaged after it was written");

  const json cut = finding(s, "mariadb-bin.000097");
  EXPECT_EQ(cut["kind"], "truncated-in-middle");
  EXPECT_EQ(cut["offset"], e.offset);
  EXPECT_EQ(cut["last_good_position"], e.offset);

  const json served = finding(s, files[0].filename().string());
  EXPECT_EQ(served["kind"], "corrupt");
  EXPECT_EQ(served["offset"], f.offset);
  EXPECT_EQ(served["last_good_position"], f.offset);
  EXPECT_TRUE(served["served"].get<bool>());
  ASSERT_EQ(served["replicas"].size(), 1u) << served.dump();
  EXPECT_EQ(served["replicas"][0]["replica"], "r1");
  EXPECT_FALSE(served["replicas"][0]["read_at_or_before_last_good"].get<bool>());  // it read past it long ago

  EXPECT_TRUE(s["integrity_checker"]["files"].size() >= 4u);
  const std::string metrics = http.get("/metrics").value_or("");
  EXPECT_EQ(metric(metrics, "binwatch_binlog_integrity_errors_total", "{kind=\"torn\"}"), 1) << metrics;
  EXPECT_EQ(metric(metrics, "binwatch_binlog_integrity_errors_total", "{kind=\"corrupt\"}"), 2);
  EXPECT_EQ(metric(metrics, "binwatch_binlog_integrity_errors_total", "{kind=\"truncated-in-middle\"}"), 1);
  EXPECT_EQ(metric(metrics, "binwatch_binlog_integrity_findings", "{kind=\"corrupt\"}"), 2);
  std::cout << "[ measured ] 4 damaged files located " << seen_s << " s after they were placed; event at "
            << e.offset << " (" << e.size << " bytes) of " << files[files.size() - 2].filename().string() << "\n";
}

TEST_F(ReplicaHealth, HeartbeatLagAgreesWithSecondsBehindMaster) {
  start_daemon();
  ASSERT_TRUE(wait_for([&] { return heartbeat_lag() >= 0; }, 15000)) << describe();
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    auto c = primary->connect();
    while (writing.load()) {
      mysql_query(c.get(), "INSERT INTO app.t (fat) VALUES (REPEAT('s', 200))");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Pairs from one observation of the replica (one poll reads both).
  auto sample = [&](int seconds, double& max_diff, double& max_hb, int& n) {
    const auto until = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < until) {
      const json r = replica_status();
      if (r.is_object() && r["up"].get<bool>() && !r["seconds_behind_master"].is_null() &&
          !r["heartbeat"]["lag_seconds"].is_null()) {
        const double hb = r["heartbeat"]["lag_seconds"].get<double>(), sbm = r["seconds_behind_master"].get<double>();
        max_diff = std::max(max_diff, std::abs(hb - sbm));
        max_hb = std::max(max_hb, hb);
        ++n;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  };
  double steady_diff = 0, steady_max = 0;
  int steady_n = 0;
  sample(5, steady_diff, steady_max, steady_n);

  // Replication held back by MASTER_DELAY = 2: both views must see the same ~2 s.
  replica->exec("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 2; START SLAVE");
  ASSERT_TRUE(wait_for([&] { return heartbeat_lag() > 1.8; }, 10000)) << describe();
  double delayed_diff = 0, delayed_max = 0;
  int delayed_n = 0;
  sample(5, delayed_diff, delayed_max, delayed_n);
  writing.store(false);
  writer.join();

  std::cout << "[ measured ] steady: " << steady_n << " samples, max |heartbeat - Seconds_Behind_Master| "
            << steady_diff << " s (heartbeat lag max " << steady_max << " s); MASTER_DELAY=2: " << delayed_n
            << " samples, max difference " << delayed_diff << " s (heartbeat lag max " << delayed_max << " s)\n";
  EXPECT_GE(steady_n, 10);
  EXPECT_LE(steady_diff, 1.0);
  EXPECT_GE(delayed_n, 10);
  // The delay counts from the events' whole-second timestamps and Seconds_Behind_Master is whole
  // seconds of them too: up to a second of quantisation on top of the heartbeat's resolution.
  EXPECT_LE(delayed_diff, 1.5);
  EXPECT_GT(delayed_max, 1.8);
}

}  // namespace
