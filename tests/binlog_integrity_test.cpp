// Binlog integrity findings without a server (issue 9): a committed fixture cut mid-event, with a
// flipped byte, and with part of an event cut out; the follower's findings for a finished torn
// file and for the active file's incomplete tail (grace period, then resolution); the folder
// checker and what it leaves to the follower. Expected offsets come from walking the fixture's
// event headers here, independently of the scanner.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "binwatch/byte_source.h"
#include "binwatch/watch/binlog_feed.h"
#include "binwatch/watch/follower.h"
#include "binwatch/watch/integrity.h"
#include "binwatch/watch/integrity_checker.h"
#include "support/test_bytes.h"

namespace fs = std::filesystem;
using namespace binwatch;
using namespace binwatch::watch;
using binwatch::test::EventSpan;
using binwatch::test::read_text;
using binwatch::test::walk_event_headers;

namespace {

const fs::path kFixture = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11/crc32-full/mariadb-bin.000001";


std::vector<IntegrityFinding> check(const std::string& bytes) {
  MemorySource src("x", Bytes(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  return check_binlog(src, "mariadb-bin.000099");
}

// The middle event of the fixture with at least 40 bytes and an event after it.
EventSpan middle_event(const std::vector<EventSpan>& events) {
  for (size_t i = events.size() / 2; i + 1 < events.size(); ++i)
    if (events[i].size >= 40) return events[i];
  return events[events.size() / 2];
}

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("binwatch-integrity-" + std::to_string(getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
};

template <typename F>
bool wait_until(F f, int ms = 10000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

}  // namespace

TEST(BinlogIntegrity, CleanFileHasNoFinding) {
  const std::string file = read_text(kFixture);
  ASSERT_GT(walk_event_headers(file).size(), 10u);
  EXPECT_TRUE(check(file).empty());
}

TEST(BinlogIntegrity, TornFlippedAndCutShortAreLocatedWithTheLastGoodPosition) {
  const std::string file = read_text(kFixture);
  const auto events = walk_event_headers(file);
  ASSERT_EQ(events.back().offset + events.back().size, file.size());
  const EventSpan e = middle_event(events);

  // Truncated mid-event: torn at the event, the last good position is where it starts.
  auto found = check(file.substr(0, e.offset + e.size / 2));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, IntegrityKind::Torn);
  EXPECT_EQ(found[0].offset, e.offset);
  EXPECT_EQ(found[0].bytes, e.size / 2);
  EXPECT_EQ(found[0].last_good, e.offset);
  EXPECT_EQ(found[0].cause,
            "binlog truncated in the middle of an event: the disk filled or the server crashed while writing");

  // One flipped byte in the event's body: a checksum mismatch there, the rest of the file is fine.
  std::string flipped = file;
  flipped[e.offset + 19 + 3] = static_cast<char>(flipped[e.offset + 19 + 3] ^ 0x20);
  found = check(flipped);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, IntegrityKind::Corrupt);
  EXPECT_EQ(found[0].offset, e.offset);
  EXPECT_EQ(found[0].bytes, e.size);
  EXPECT_EQ(found[0].last_good, e.offset);
  EXPECT_EQ(found[0].cause, "checksum mismatch: the file was changed or damaged after it was written");

  // The second half of the event cut out: valid events follow the short one.
  std::string cut = file.substr(0, e.offset + e.size / 2) + file.substr(e.offset + e.size);
  found = check(cut);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, IntegrityKind::TruncatedInMiddle);
  EXPECT_EQ(found[0].offset, e.offset);
  EXPECT_EQ(found[0].bytes, e.size / 2);
  EXPECT_EQ(found[0].last_good, e.offset);

  // Damage after a good event that follows damage: its last good position is that event's end.
  size_t i = 0;
  while (events[i].offset != e.offset) ++i;
  ASSERT_LT(i + 2, events.size());
  const EventSpan later = events[i + 2];
  std::string two = flipped;
  two[later.offset + 19 + 1] = static_cast<char>(two[later.offset + 19 + 1] ^ 0x01);
  found = check(two);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].offset, e.offset);
  EXPECT_EQ(found[1].offset, later.offset);
  EXPECT_EQ(found[1].last_good, later.offset);
}

TEST(BinlogIntegrity, LogIsBoundedAndCountsEverything) {
  IntegrityLog log;
  for (uint64_t i = 0; i < IntegrityLog::kMaxFindings + 10; ++i) {
    IntegrityFinding f;
    f.file = "f";
    f.offset = i;
    f.kind = i % 2 ? IntegrityKind::Corrupt : IntegrityKind::Torn;
    log.add(std::move(f));
  }
  EXPECT_EQ(log.findings.size(), IntegrityLog::kMaxFindings);
  EXPECT_EQ(log.dropped, 10u);
  EXPECT_EQ(log.count(IntegrityKind::Torn) + log.count(IntegrityKind::Corrupt), IntegrityLog::kMaxFindings + 10);
  EXPECT_EQ(log.findings.back().offset, IntegrityLog::kMaxFindings + 9);
  EXPECT_EQ(integrity_kind_name(IntegrityKind::TruncatedInMiddle), "truncated-in-middle");
}

// The file being written ends inside an event: no finding while the "server" may still write it;
// one (active_file) once it stayed so for the grace period; resolved when the event completes.
TEST(BinlogIntegrity, FollowerActiveTailAfterGraceThenResolved) {
  const std::string file = read_text(kFixture);
  const EventSpan e = middle_event(walk_event_headers(file));
  TempDir t;
  std::ofstream(t.dir / "mariadb-bin.index") << "./mariadb-bin.000001\n";
  std::ofstream(t.dir / "mariadb-bin.000001", std::ios::binary) << file.substr(0, e.offset + 10);
  LocalBinlogFeed feed(t.dir / "mariadb-bin.index", 20);
  Follower f(feed, {"mariadb-bin.000001", 0}, {"mariadb-bin.000001", 0}, {},
             {.publish_interval_ms = 0, .torn_grace_ms = 400});
  std::thread th([&] { f.run(); });
  ASSERT_TRUE(wait_until([&] { return f.pending_tail().has_value(); }));
  EXPECT_EQ(f.pending_tail()->offset, e.offset);
  EXPECT_EQ(f.pending_tail()->bytes, 10u);
  EXPECT_TRUE(f.integrity()->findings.empty());  // within the grace period
  ASSERT_TRUE(wait_until([&] { return !f.integrity()->findings.empty(); }));
  auto finding = f.integrity()->findings.front();
  EXPECT_EQ(finding.kind, IntegrityKind::Torn);
  EXPECT_TRUE(finding.active_file);
  EXPECT_FALSE(finding.resolved);
  EXPECT_EQ(finding.offset, e.offset);
  EXPECT_EQ(finding.last_good, e.offset);
  EXPECT_EQ(f.integrity()->count(IntegrityKind::Torn), 1u);
  // The server finishes writing.
  std::ofstream(t.dir / "mariadb-bin.000001", std::ios::binary | std::ios::app) << file.substr(e.offset + 10);
  ASSERT_TRUE(wait_until([&] { return f.integrity()->findings.front().resolved; }));
  EXPECT_FALSE(f.pending_tail());
  EXPECT_EQ(f.integrity()->count(IntegrityKind::Torn), 1u);
  f.request_stop();
  th.join();
}

// A file left torn by a crash and finished by the next file: one torn finding, not two.
TEST(BinlogIntegrity, FollowerFinishedTornFileCountsOnce) {
  const std::string file = read_text(kFixture);
  const EventSpan e = middle_event(walk_event_headers(file));
  TempDir t;
  std::ofstream(t.dir / "mariadb-bin.index") << "./mariadb-bin.000001\n";
  std::ofstream(t.dir / "mariadb-bin.000001", std::ios::binary) << file.substr(0, e.offset + e.size / 2);
  LocalBinlogFeed feed(t.dir / "mariadb-bin.index", 20);
  Follower f(feed, {"mariadb-bin.000001", 0}, {"mariadb-bin.000001", 0}, {},
             {.publish_interval_ms = 0, .torn_grace_ms = 100});
  std::thread th([&] { f.run(); });
  ASSERT_TRUE(wait_until([&] { return !f.integrity()->findings.empty(); }));
  EXPECT_TRUE(f.integrity()->findings.front().active_file);
  std::ofstream(t.dir / "mariadb-bin.000002", std::ios::binary) << file;
  std::ofstream(t.dir / "mariadb-bin.index", std::ios::app) << "./mariadb-bin.000002\n";
  ASSERT_TRUE(wait_until([&] { return f.snapshot()->files_finished == 1; }));
  f.request_stop();
  th.join();
  const auto log = f.integrity();
  ASSERT_EQ(log->findings.size(), 1u);
  EXPECT_FALSE(log->findings.front().active_file);
  EXPECT_EQ(log->findings.front().offset, e.offset);
  EXPECT_EQ(log->findings.front().bytes, e.size / 2);
  EXPECT_EQ(log->count(IntegrityKind::Torn), 1u);
}

TEST(BinlogIntegrity, CheckerPlan) {
  const Position start{"mariadb-bin.000005", 1234};
  EXPECT_TRUE(plan_check("mariadb-bin.000099", false, start).check);  // a copy: nobody else reads it
  EXPECT_FALSE(plan_check("mariadb-bin.000099", false, start).served);
  EXPECT_TRUE(plan_check("mariadb-bin.000004", true, start).check);  // before the follower's start
  EXPECT_TRUE(plan_check("mariadb-bin.000004", true, start).served);
  EXPECT_FALSE(plan_check("mariadb-bin.000006", true, start).check);  // the follower reads it
  const CheckPlan own = plan_check("mariadb-bin.000005", true, start);
  EXPECT_TRUE(own.check);
  EXPECT_EQ(own.limit, 1234u);  // up to where the follower began
  EXPECT_FALSE(plan_check("mariadb-bin.000005", true, {"mariadb-bin.000005", 4}).check);
  EXPECT_TRUE(is_binlog_name("mariadb-bin.000099", "mariadb-bin"));
  EXPECT_FALSE(is_binlog_name("mariadb-bin.index", "mariadb-bin"));
  EXPECT_FALSE(is_binlog_name("mariadb-bin.000099.bak", "mariadb-bin"));
  EXPECT_FALSE(is_binlog_name("other-bin.000001", "mariadb-bin"));
}

TEST(BinlogIntegrity, CheckerVerifiesFilesTheFollowerDoesNotRead) {
  const std::string file = read_text(kFixture);
  const EventSpan e = middle_event(walk_event_headers(file));
  TempDir t;
  std::ofstream(t.dir / "mariadb-bin.index") << "./mariadb-bin.000001\n./mariadb-bin.000002\n";
  std::ofstream(t.dir / "mariadb-bin.000001", std::ios::binary) << file;
  std::string flipped = file;
  flipped[e.offset + 25] = static_cast<char>(flipped[e.offset + 25] ^ 0x40);
  std::ofstream(t.dir / "mariadb-bin.000002", std::ios::binary) << flipped;  // followed: not the checker's
  std::ofstream(t.dir / "mariadb-bin.000099", std::ios::binary) << file.substr(0, e.offset + 7);
  std::ofstream(t.dir / "mariadb-bin.000099.note") << "not a binlog name";
  const auto past = fs::file_time_type::clock::now() - std::chrono::seconds(30);
  for (const char* n : {"mariadb-bin.000001", "mariadb-bin.000002", "mariadb-bin.000099"})
    fs::last_write_time(t.dir / n, past);

  IntegrityChecker checker({.index = t.dir / "mariadb-bin.index",
                            .interval_ms = 100,
                            .max_read_bytes_per_second = uint64_t{1} << 30,
                            .follower_start = [] { return Position{"mariadb-bin.000002", 4}; }});
  checker.check_once();
  auto s = checker.snapshot();
  ASSERT_EQ(s->files.size(), 2u);  // 000001 (before the start) and the copy 000099
  EXPECT_EQ(s->files[0].name, "mariadb-bin.000001");
  EXPECT_TRUE(s->files[0].served);
  EXPECT_TRUE(s->files[0].findings.empty());
  EXPECT_EQ(s->files[1].name, "mariadb-bin.000099");
  EXPECT_FALSE(s->files[1].served);
  ASSERT_EQ(s->files[1].findings.size(), 1u);
  EXPECT_EQ(s->files[1].findings[0].kind, IntegrityKind::Torn);
  EXPECT_EQ(s->files[1].findings[0].offset, e.offset);
  EXPECT_EQ(s->files[1].findings[0].last_good, e.offset);
  EXPECT_EQ(s->counts[static_cast<size_t>(IntegrityKind::Torn)], 1u);
  EXPECT_EQ(s->files_checked, 2u);
  EXPECT_EQ(s->bytes_checked, file.size() + e.offset + 7);

  // Unchanged: not read again, not counted again. Replaced by a clean copy: re-checked, no finding.
  checker.check_once();
  EXPECT_EQ(checker.snapshot()->files_checked, 2u);
  std::ofstream(t.dir / "mariadb-bin.000099", std::ios::binary | std::ios::trunc) << file;
  fs::last_write_time(t.dir / "mariadb-bin.000099", past + std::chrono::seconds(1));
  checker.check_once();
  s = checker.snapshot();
  EXPECT_EQ(s->files_checked, 3u);
  EXPECT_TRUE(s->files[1].findings.empty());
  EXPECT_EQ(s->counts[static_cast<size_t>(IntegrityKind::Torn)], 1u);
}
