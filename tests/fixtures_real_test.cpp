// Every real binlog under the shared fixtures folder (BINWATCH_SHARED_FIXTURES, see
// ../shared/fixtures-real/SOURCES.txt) through scan_binlog:
//  - the attribution invariant: tables + statement + overhead + magic + torn + corrupt ==
//    total_bytes == file size, for every file;
//  - SOURCES.txt's PER-FILE INVENTORY lines (parsed here): size, server version, checksum, in-use
//    flag, event counts by type, tables;
//  - the specific expectations written in SOURCES.txt (torn tails, the compressed transaction,
//    corrupt-relay-bin's broken QUERY, the pre-GA dev-tree files, MariaDB 11.8's log_pos 0);
//  - COMPUTED-per-table-bytes.txt (parsed here), exactly;
//  - row counts that the fixtures' own SQL makes true (derivations in comments).
// Skips with a message when the folder is absent.
#include <gtest/gtest.h>

#include "support/test_bytes.h"
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "binwatch/attribution.h"
#include "binwatch/binlog/decoder.h"
#include "binwatch/binlog/event_type.h"
#include "binwatch/binlog/format_description.h"
#include "binwatch/binlog/payload_reader.h"
#include "binwatch/binlog/table_map.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;
using binlog::ErrorKind;

const fs::path kRoot = BINWATCH_SHARED_FIXTURES;

using ::binwatch::test::read_file;
using ::binwatch::test::read_text;
using ::binwatch::test::is_binlog;


// The mysql-cdc-rs 8.0 .sql/.txt files are UTF-16LE with a BOM; their SQL is ASCII apart from
// string literals, which is all these tests look at.
std::string utf16le_to_ascii(const std::string& raw) {
  std::string out;
  size_t i = (raw.size() >= 2 && raw[0] == '\xff' && raw[1] == '\xfe') ? 2 : 0;
  for (; i + 1 < raw.size(); i += 2) {
    out.push_back(raw[i + 1] == 0 ? raw[i] : '?');
  }
  return out;
}


// Every binlog under the folder, by content (the magic), not by name.
std::vector<fs::path> all_binlogs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(kRoot)) {
    if (e.is_regular_file() && is_binlog(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class MemorySource : public ByteSource {
 public:
  MemorySource(std::string name, std::vector<std::byte> data)
      : m_name(std::move(name)), m_data(std::move(data)) {}
  size_t read(std::byte* dst, size_t n) override {
    n = std::min(n, m_data.size() - m_pos);
    if (n) std::memcpy(dst, m_data.data() + m_pos, n);
    m_pos += n;
    return n;
  }
  [[nodiscard]] const std::string& name() const override { return m_name; }
  [[nodiscard]] std::optional<uint64_t> size() const override { return m_data.size(); }

 private:
  std::string m_name;
  std::vector<std::byte> m_data;
  size_t m_pos = 0;
};

struct Scan {
  FileSummary summary;
  Attribution attribution;
  std::optional<std::string> fatal;
  uint64_t file_size = 0;

  [[nodiscard]] const TableStats* table(const std::string& schema, const std::string& name) const {
    for (const auto& t : attribution.tables()) {
      if (t.key.schema == schema && t.key.table == name) return &t;
    }
    return nullptr;
  }
  [[nodiscard]] uint64_t type_events(uint8_t type) const {
    auto it = attribution.types.find(type);
    return it == attribution.types.end() ? 0 : it->second.events;
  }
};

void expect_invariant(const Attribution& a, uint64_t file_size, const std::string& what) {
  const uint64_t tables = a.table_bytes();
  const OtherBytes& o = a.other;
  EXPECT_EQ(tables + o.statement + o.overhead + o.magic + o.torn + o.corrupt, a.total_bytes)
      << what << ": tables " << tables << " statement " << o.statement << " overhead " << o.overhead
      << " magic " << o.magic << " torn " << o.torn << " corrupt " << o.corrupt;
  EXPECT_EQ(a.total_bytes, file_size) << what;
  uint64_t type_bytes = 0;
  for (const auto& [type, s] : a.types) type_bytes += s.bytes;
  // Every event's bytes are counted under its type, except resynchronised stretches and torn tails.
  EXPECT_LE(type_bytes + o.magic + o.torn, file_size) << what;
}

// Scans are cached: several tests look at the same files.
const Scan& scan_of(const fs::path& p) {
  static std::map<fs::path, Scan> cache;
  auto it = cache.find(p);
  if (it != cache.end()) return it->second;
  Scan s;
  s.file_size = fs::file_size(p);
  try {
    FileSource src(p.string());
    s.summary = scan_binlog(src, s.attribution);
  } catch (const std::exception& e) {
    s.fatal = e.what();
  }
  return cache.emplace(p, std::move(s)).first->second;
}

struct Walked {
  uint64_t offset;
  binlog::EventHeader header;
};

// A plain header walk by event_size from offset 4 (stops where an event does not fit).
std::vector<Walked> walk_headers(const std::vector<std::byte>& data) {
  std::vector<Walked> out;
  uint64_t pos = 4;
  while (pos + binlog::kHeaderLen <= data.size()) {
    auto h = binlog::parse_event_header(Bytes(data).subspan(pos));
    if (!h || pos + h->event_size > data.size()) break;
    out.push_back({pos, *h});
    pos += h->event_size;
  }
  return out;
}

// Server versions of every FORMAT_DESCRIPTION event in the file, in order.
std::vector<std::string> fde_versions(const fs::path& p) {
  const auto data = read_file(p);
  std::vector<std::string> out;
  for (const auto& w : walk_headers(data)) {
    if (w.header.type != 15) continue;
    auto f = binlog::parse_format_description(w.header, Bytes(data).subspan(w.offset));
    EXPECT_TRUE(f.ok()) << p << " offset " << w.offset;
    if (f) out.push_back(f->server_version);
  }
  return out;
}

class RealFixtures : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kRoot)) {
      GTEST_SKIP() << "shared fixtures folder " << kRoot
                   << " is absent; configure with -DBINWATCH_SHARED_FIXTURES=<dir> to run these";
    }
  }
  static fs::path at(const std::string& rel) { return kRoot / rel; }
};

// ---------------------------------------------------------------------------------------------
// SOURCES.txt inventory

struct InventoryLine {
  std::string path;  // relative to the fixtures folder
  uint64_t bytes = 0;
  std::optional<std::string> server;  // nullopt: "(no FDE)"
  std::string checksum;               // as written
  std::map<std::string, uint64_t> events;
  std::map<std::string, uint64_t> inside_payload;
  std::set<std::string> tables;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::map<std::string, uint64_t> parse_counts(const std::string& list) {
  std::map<std::string, uint64_t> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    const size_t colon = item.rfind(':');
    out[item.substr(0, colon)] = std::stoull(item.substr(colon + 1));
  }
  return out;
}

std::vector<InventoryLine> parse_inventory() {
  std::ifstream in(kRoot / "SOURCES.txt");
  std::vector<InventoryLine> out;
  std::string line;
  bool in_inventory = false;
  while (std::getline(in, line)) {
    if (line.starts_with("PER-FILE INVENTORY")) in_inventory = true;
    if (!in_inventory || !line.starts_with("./")) continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      const size_t bar = line.find(" | ", start);
      fields.push_back(trim(line.substr(start, bar == std::string::npos ? std::string::npos : bar - start)));
      if (bar == std::string::npos) break;
      start = bar + 3;
    }
    InventoryLine l;
    l.path = fields.at(0).substr(2);
    l.bytes = std::stoull(fields.at(1));
    const std::string server = fields.at(2).substr(std::string("server").size());
    if (trim(server) != "(no FDE)") l.server = trim(server);
    l.checksum = trim(fields.at(3).substr(std::string("checksum").size()));
    for (size_t i = 4; i < fields.size(); ++i) {
      const std::string& f = fields[i];
      if (f.starts_with("events")) {
        l.events = parse_counts(f.substr(6));
      } else if (f.starts_with("inside TRANSACTION_PAYLOAD")) {
        l.inside_payload = parse_counts(f.substr(f.find(':') + 1));
      } else if (f.starts_with("tables:")) {
        std::stringstream ss(f.substr(7));
        std::string t;
        while (ss >> t) l.tables.insert(t);
      }
    }
    out.push_back(std::move(l));
  }
  return out;
}

// SOURCES.txt type names -> codes ("*_v0 = 20-22, *_v1 = 23-25, *_v2 = 30-32, MDB_* = 160+").
const std::map<std::string, uint8_t>& type_codes() {
  static const std::map<std::string, uint8_t> codes = {
      {"QUERY", 2},
      {"STOP", 3},
      {"ROTATE", 4},
      {"INTVAR", 5},
      {"APPEND_BLOCK", 9},
      {"RAND", 13},
      {"USER_VAR", 14},
      {"FDE", 15},
      {"XID", 16},
      {"BEGIN_LOAD_QUERY", 17},
      {"EXECUTE_LOAD_QUERY", 18},
      {"TABLE_MAP", 19},
      {"WRITE_ROWS_v0", 20},
      {"UPDATE_ROWS_v0", 21},
      {"DELETE_ROWS_v0", 22},
      {"WRITE_ROWS_v1", 23},
      {"UPDATE_ROWS_v1", 24},
      {"DELETE_ROWS_v1", 25},
      {"INCIDENT", 26},
      {"ROWS_QUERY", 29},
      {"WRITE_ROWS_v2", 30},
      {"UPDATE_ROWS_v2", 31},
      {"DELETE_ROWS_v2", 32},
      {"GTID", 33},
      {"ANONYMOUS_GTID", 34},
      {"PREVIOUS_GTIDS", 35},
      {"PARTIAL_UPDATE_ROWS", 39},
      {"TRANSACTION_PAYLOAD", 40},
      {"GTID_TAGGED", 42},
      {"MDB_ANNOTATE_ROWS", 160},
      {"MDB_BINLOG_CHECKPOINT", 161},
      {"MDB_GTID", 162},
      {"MDB_GTID_LIST", 163},
      {"MDB_QUERY_COMPRESSED", 165},
      {"MDB_WRITE_ROWS_COMPRESSED_v1", 166},
      {"MDB_UPDATE_ROWS_COMPRESSED_v1", 167},
      {"MDB_DELETE_ROWS_COMPRESSED_v1", 168},
  };
  return codes;
}

TEST_F(RealFixtures, EveryBinlogHoldsTheAttributionInvariant) {
  const auto files = all_binlogs();
  ASSERT_GE(files.size(), 60u) << "expected the ~80 binlogs listed in SOURCES.txt";
  for (const auto& p : files) {
    SCOPED_TRACE(p.string());
    const Scan& s = scan_of(p);
    ASSERT_FALSE(s.fatal.has_value()) << *s.fatal;
    expect_invariant(s.attribution, s.file_size, p.string());
    EXPECT_EQ(s.summary.size, s.file_size);
    EXPECT_EQ(s.summary.path, p.string());
    EXPECT_EQ(s.attribution.other.magic, 4u);
    for (const auto& e : s.attribution.errors) {
      EXPECT_LT(e.offset, s.file_size) << e.detail;
      EXPECT_GE(e.offset, 4u) << e.detail;
      EXPECT_EQ(e.file, p.string());
      EXPECT_FALSE(e.detail.empty());
    }
    for (const auto& t : s.attribution.tables()) {
      EXPECT_EQ(t.events, t.table_map_events + t.rows_events) << t.key.schema << "." << t.key.table;
      EXPECT_GE(t.bytes, t.table_map_bytes);
      EXPECT_EQ(t.rows, t.inserts + t.updates + t.deletes);
    }
    if (s.summary.torn_tail) {
      EXPECT_EQ(s.summary.torn_tail->offset + s.summary.torn_tail->bytes, s.file_size);
      EXPECT_EQ(s.attribution.other.torn, s.summary.torn_tail->bytes);
    } else {
      EXPECT_EQ(s.attribution.other.torn, 0u);
    }
  }
}

TEST_F(RealFixtures, SourcesInventoryHoldsForEveryFile) {
  const auto inventory = parse_inventory();
  const auto files = all_binlogs();
  ASSERT_EQ(inventory.size(), files.size())
      << "SOURCES.txt's PER-FILE INVENTORY and the binlogs in the folder disagree";
  std::set<fs::path> listed;
  for (const auto& l : inventory) {
    SCOPED_TRACE(l.path);
    const fs::path p = at(l.path);
    listed.insert(p);
    ASSERT_TRUE(fs::exists(p));
    const Scan& s = scan_of(p);
    ASSERT_FALSE(s.fatal.has_value()) << *s.fatal;
    EXPECT_EQ(s.file_size, l.bytes);
    EXPECT_EQ(s.attribution.total_bytes, l.bytes);

    // Server version and checksum. binwatch reports the first format description's version:
    // the server that wrote the file. Relay logs hold two (the replica's, then the source's
    // re-logged one); SOURCES.txt lists the last one, which for corrupt-relay-bin.000624 differs
    // (5.0.46 replica, 5.0.30 source). For those files both are asserted explicitly.
    if (l.server) {
      const auto fdes = fde_versions(p);
      ASSERT_FALSE(fdes.empty());
      EXPECT_EQ(s.summary.server_version, fdes.front());
      EXPECT_EQ(fdes.back(), *l.server);
      if (fdes.size() == 1 || fdes.front() == fdes.back()) {
        EXPECT_EQ(s.summary.server_version, *l.server);
      }
      EXPECT_TRUE(s.summary.first_event_time.has_value());
      EXPECT_TRUE(s.summary.last_event_time.has_value());
    } else {
      EXPECT_EQ(s.summary.server_version, "");
    }
    if (l.checksum.starts_with("CRC32")) {
      EXPECT_EQ(s.summary.checksum, "crc32");
    } else {
      // "OFF(alg=0; FDE itself checksummed)", "none(pre-checksum FDE)", "-" (no FDE)
      EXPECT_TRUE(l.checksum.starts_with("OFF") || l.checksum.starts_with("none") ||
                  l.checksum == "-")
          << l.checksum;
      EXPECT_EQ(s.summary.checksum, "none");
    }
    // In-use flag: set while a server writes the file, cleared on a clean close.
    const bool in_use = l.checksum.find("IN_USE") != std::string::npos;
    EXPECT_EQ(s.summary.closed_cleanly, l.server.has_value() && !in_use);

    // Event counts by type: every event of the file, decodable or not, is counted under its type.
    std::map<uint8_t, uint64_t> want;
    uint64_t want_total = 0;
    for (const auto& [name, n] : l.events) {
      auto code = type_codes().find(name);
      ASSERT_NE(code, type_codes().end()) << "unknown type name " << name << " in SOURCES.txt";
      want[code->second] = n;
      want_total += n;
    }
    std::map<uint8_t, uint64_t> got;
    for (const auto& [type, st] : s.attribution.types) got[type] = st.events;
    EXPECT_EQ(got, want);
    if (s.attribution.errors.empty()) {
      EXPECT_EQ(s.summary.events, want_total);
    } else {
      EXPECT_LE(s.summary.events, want_total);
    }
    EXPECT_EQ(s.summary.unknown_events, 0u);

    // Tables: exactly the ones listed (a file listing none has no table bytes at all).
    std::set<std::string> tables;
    for (const auto& t : s.attribution.tables()) tables.insert(t.key.schema + "." + t.key.table);
    EXPECT_EQ(tables, l.tables);
    if (l.tables.empty()) {
      EXPECT_EQ(s.attribution.table_bytes(), 0u);
    }

    // Torn tails: only where SOURCES.txt notes one (checked in detail below).
    const bool noted_torn = l.path.find("binlog_truncated_") != std::string::npos;
    EXPECT_EQ(s.summary.torn_tail.has_value(), noted_torn);
  }
  for (const auto& p : files) EXPECT_TRUE(listed.count(p)) << p << " is not in SOURCES.txt";
}

TEST_F(RealFixtures, TornTails) {
  {
    // 14 bytes = magic + 10 bytes of a first header.
    const Scan& s = scan_of(at("rust_mysql_common/test-data/binlogs/binlog_truncated_event.000001"));
    ASSERT_TRUE(s.summary.torn_tail.has_value());
    EXPECT_EQ(s.summary.torn_tail->offset, 4u);
    EXPECT_EQ(s.summary.torn_tail->bytes, 10u);
    EXPECT_EQ(s.attribution.other.torn, 10u);
    EXPECT_EQ(s.summary.events, 0u);
    EXPECT_FALSE(s.summary.closed_cleanly);
    EXPECT_TRUE(s.attribution.errors.empty());
  }
  {
    // FDE with the in-use flag, then 9 bytes of a torn event at 120: a crash or full disk.
    const Scan& s =
        scan_of(at("rust_mysql_common/test-data/binlogs/binlog_truncated_prev_gtid_event.000001"));
    ASSERT_TRUE(s.summary.torn_tail.has_value());
    EXPECT_EQ(s.summary.torn_tail->offset, 120u);
    EXPECT_EQ(s.summary.torn_tail->bytes, 9u);
    EXPECT_EQ(s.attribution.other.torn, 9u);
    EXPECT_EQ(s.summary.events, 1u);
    EXPECT_FALSE(s.summary.closed_cleanly);
    EXPECT_EQ(s.summary.checksum, "crc32");
    EXPECT_EQ(s.attribution.other.overhead, 116u);  // the FDE
    EXPECT_TRUE(s.attribution.errors.empty());
  }
}

// Largest-remainder split of `disk` over `parts` (ties to the earlier part), as ARCHITECTURE.md's
// proportional rule needs to add up exactly.
std::vector<uint64_t> split(uint64_t disk, const std::vector<uint64_t>& parts) {
  uint64_t total = 0;
  for (uint64_t p : parts) total += p;
  std::vector<uint64_t> share(parts.size());
  std::vector<std::pair<uint64_t, size_t>> rem;
  uint64_t assigned = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    share[i] = disk * parts[i] / total;
    rem.emplace_back(disk * parts[i] % total, i);
    assigned += share[i];
  }
  std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t k = 0; assigned < disk; ++k, ++assigned) share[rem[k].second] += 1;
  return share;
}

TEST_F(RealFixtures, TransactionCompressionPayload) {
  const fs::path p = at("rust_mysql_common/test-data/binlogs/transaction_compression.000001");
  const auto data = read_file(p);
  const auto events = walk_headers(data);
  // The FDE tells the checksum; decode the payload event with the library's pure decoders.
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events[0].header.type, 15);
  auto fde = binlog::parse_format_description(events[0].header, Bytes(data).subspan(4));
  ASSERT_TRUE(fde.ok());
  ASSERT_TRUE(fde->event_checksums());
  std::optional<Walked> payload_ev;
  uint64_t outside = 4;
  for (const auto& e : events) {
    if (e.header.type == 40) {
      ASSERT_FALSE(payload_ev.has_value()) << "one TRANSACTION_PAYLOAD expected";
      payload_ev = e;
    } else {
      outside += e.header.event_size;
    }
  }
  ASSERT_TRUE(payload_ev.has_value());
  auto raw = binlog::frame_event(Bytes(data).subspan(payload_ev->offset), true);
  ASSERT_TRUE(raw.ok()) << raw.error().detail;
  auto tp = binlog::parse_transaction_payload(*fde, raw->body);
  ASSERT_TRUE(tp.ok()) << tp.error().detail;
  EXPECT_EQ(tp->compression, 0u);  // ZSTD
  EXPECT_EQ(tp->uncompressed_size, 179u);
  EXPECT_EQ(tp->payload_size, 124u);

  binlog::PayloadReader reader;
  std::vector<uint8_t> types;
  std::vector<uint64_t> sizes;
  auto walked = reader.for_each_event(*tp, [&](const binlog::EventHeader& h, Bytes ev, uint64_t) {
    types.push_back(h.type);
    sizes.push_back(ev.size());
    EXPECT_EQ(h.log_pos, 0u);  // inside a payload: log_pos 0
    return true;
  });
  ASSERT_TRUE(walked.ok()) << walked.error().detail;
  EXPECT_EQ(*walked, 179u);
  // Exactly QUERY, TABLE_MAP, WRITE_ROWS (v2), XID (rust_mysql_common's upstream assertion).
  ASSERT_EQ(types, (std::vector<uint8_t>{2, 19, 30, 16}));
  // No CRC32 inside: the XID event is header + 8-byte xid, nothing more.
  EXPECT_EQ(sizes[3], 19u + 8u);
  EXPECT_EQ(sizes[0] + sizes[1] + sizes[2] + sizes[3], 179u);

  // Attribution: the payload's on-disk bytes split by uncompressed size; test.tb1 gets the payload
  // minus the QUERY and XID shares.
  const uint64_t disk = payload_ev->header.event_size;
  const auto shares = split(disk, {sizes[0], sizes[1] + sizes[2], sizes[3]});
  const Scan& s = scan_of(p);
  ASSERT_TRUE(s.attribution.errors.empty());
  const TableStats* tb1 = s.table("test", "tb1");
  ASSERT_NE(tb1, nullptr);
  EXPECT_EQ(tb1->bytes, disk - shares[0] - shares[2]);
  EXPECT_NEAR(static_cast<double>(tb1->bytes),
              static_cast<double>(disk) * static_cast<double>(sizes[1] + sizes[2]) / 179.0, 1.0);
  EXPECT_EQ(tb1->uncompressed_bytes, sizes[1] + sizes[2]);
  EXPECT_EQ(tb1->table_map_events, 1u);
  EXPECT_EQ(tb1->rows_events, 1u);
  EXPECT_EQ(tb1->inserts, 1u);
  EXPECT_EQ(s.attribution.other.statement, shares[0]);  // the only QUERY is inside the payload
  EXPECT_EQ(s.attribution.other.overhead, outside - 4 + shares[2]);
  EXPECT_EQ(s.type_events(40), 1u);
  EXPECT_EQ(s.type_events(2), 0u);  // inner events are not top-level events
}

TEST_F(RealFixtures, CorruptRelayLogBrokenQueryIsLocated) {
  const fs::path p = at("rust_mysql_common/test-data/binlogs/corrupt-relay-bin.000624");
  const Scan& s = scan_of(p);
  ASSERT_FALSE(s.fatal.has_value());
  ASSERT_EQ(s.attribution.errors.size(), 1u);
  const ScanError& e = s.attribution.errors.front();
  EXPECT_EQ(e.kind, ErrorKind::Malformed);
  // The error names the broken QUERY event (size 171) by its offset.
  const auto data = read_file(p);
  const auto events = walk_headers(data);
  uint64_t end = 4;
  const Walked* broken = nullptr;
  for (const auto& w : events) {
    if (w.offset == e.offset) broken = &w;
    end = w.offset + w.header.event_size;
  }
  EXPECT_EQ(end, data.size()) << "the header chain covers the whole file";
  ASSERT_NE(broken, nullptr) << "error offset " << e.offset << " is not an event boundary";
  EXPECT_EQ(broken->header.type, 2);
  EXPECT_EQ(broken->header.event_size, 171u);
  EXPECT_EQ(s.attribution.other.corrupt, 171u);
  expect_invariant(s.attribution, data.size(), p.string());
  // Decoding went on after it: every event after the broken one is counted.
  EXPECT_EQ(s.type_events(2), 454u);
}

// Pre-GA 5.1 "wl2325" dev-tree files use layouts no released server wrote: they must yield
// located errors (at event boundaries) and a complete attribution, never a crash.
TEST_F(RealFixtures, PreGaDevTreeFilesGiveLocatedErrors) {
  for (const char* name : {"ver_5_1-wl2325_r.001", "ver_5_1-wl2325_s.001"}) {
    SCOPED_TRACE(name);
    const fs::path p = at(std::string("rust_mysql_common/test-data/binlogs/") + name);
    const Scan& s = scan_of(p);
    ASSERT_FALSE(s.fatal.has_value());
    EXPECT_FALSE(s.attribution.errors.empty());
    const auto data = read_file(p);
    std::set<uint64_t> boundaries;
    for (const auto& w : walk_headers(data)) boundaries.insert(w.offset);
    for (const auto& e : s.attribution.errors) {
      EXPECT_TRUE(boundaries.count(e.offset)) << e.offset << ": " << e.detail;
    }
    EXPECT_GT(s.attribution.other.corrupt, 0u);
    expect_invariant(s.attribution, data.size(), p.string());
    EXPECT_FALSE(s.summary.torn_tail.has_value());
  }
}

// MariaDB 11.4+ writes log_pos 0 for events copied from the transaction cache: the scan tracks
// positions itself. The same file with every log_pos overwritten (CRC32s recomputed) must give
// the identical attribution.
TEST_F(RealFixtures, MariaDb118LogPosZeroIsNotRelied) {
  const fs::path p = at("mariadb-poc/mariadb-binlog/binlogs/domain_id_0/mariadb-repl-bin.000002");
  auto data = read_file(p);
  const auto events = walk_headers(data);
  uint64_t zero_queries = 0;
  for (const auto& w : events) {
    if (w.header.type == 2 && w.header.log_pos == 0) ++zero_queries;
  }
  EXPECT_EQ(zero_queries, 17724u);
  const Scan& s = scan_of(p);
  EXPECT_TRUE(s.attribution.errors.empty());
  EXPECT_EQ(s.type_events(2), 17726u);
  EXPECT_EQ(s.summary.events, events.size());
  expect_invariant(s.attribution, data.size(), p.string());

  for (const auto& w : events) {
    const size_t at = static_cast<size_t>(w.offset);
    const uint32_t garbage = static_cast<uint32_t>(w.offset * 2654435761u) | 1;
    for (int i = 0; i < 4; ++i) data[at + 13 + i] = static_cast<std::byte>((garbage >> (8 * i)) & 0xff);
    if (w.header.type == 15) continue;  // the FDE's CRC is checked with the in-use flag cleared
    const size_t n = w.header.event_size - 4;
    const uint32_t crc = static_cast<uint32_t>(
        ::crc32(0, reinterpret_cast<const Bytef*>(data.data() + at), static_cast<uInt>(n)));
    for (int i = 0; i < 4; ++i) data[at + n + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xff);
  }
  // The FDE (flags clear here) gets its CRC recomputed too.
  {
    const size_t at = static_cast<size_t>(events[0].offset);
    const size_t n = events[0].header.event_size - 4;
    ASSERT_EQ(events[0].header.flags & 1, 0);
    const uint32_t crc = static_cast<uint32_t>(
        ::crc32(0, reinterpret_cast<const Bytef*>(data.data() + at), static_cast<uInt>(n)));
    for (int i = 0; i < 4; ++i) data[at + n + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xff);
  }
  MemorySource src(p.string(), std::move(data));
  Attribution a;
  const FileSummary f = scan_binlog(src, a);
  EXPECT_TRUE(a.errors.empty()) << a.errors.front().detail;
  EXPECT_EQ(f.events, s.summary.events);
  EXPECT_EQ(a.other.statement, s.attribution.other.statement);
  EXPECT_EQ(a.other.overhead, s.attribution.other.overhead);
  EXPECT_EQ(a.other.corrupt, 0u);
  EXPECT_EQ(a.total_bytes, s.attribution.total_bytes);
}

// ---------------------------------------------------------------------------------------------
// COMPUTED-per-table-bytes.txt

struct ComputedRow {
  std::string table;
  uint64_t rows_event_bytes, rows_events, table_map_bytes;
  double pct;
};

TEST_F(RealFixtures, ComputedPerTableBytesHoldExactly) {
  std::ifstream in(kRoot / "COMPUTED-per-table-bytes.txt");
  ASSERT_TRUE(in);
  std::map<std::pair<std::string, uint64_t>, std::vector<ComputedRow>> files;
  std::pair<std::string, uint64_t> current;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# file ")) {
      std::stringstream ss(line.substr(7));
      std::string name, size_word;
      uint64_t size = 0;
      ss >> name >> size_word >> size;
      ASSERT_EQ(size_word, "size") << line;
      current = {name, size};
      files[current];
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    ComputedRow r;
    ss >> r.table >> r.rows_event_bytes >> r.rows_events >> r.table_map_bytes >> r.pct;
    ASSERT_FALSE(ss.fail()) << line;
    files[current].push_back(r);
  }
  ASSERT_EQ(files.size(), 4u);
  const auto binlogs = all_binlogs();
  for (const auto& [key, rows] : files) {
    SCOPED_TRACE(key.first);
    // The file by name and size (two different mariadb-bin.000001 exist).
    std::optional<fs::path> p;
    for (const auto& b : binlogs) {
      if (b.filename() == key.first && fs::file_size(b) == key.second) {
        ASSERT_FALSE(p.has_value()) << "ambiguous";
        p = b;
      }
    }
    ASSERT_TRUE(p.has_value()) << "no binlog named " << key.first << " of " << key.second << " bytes";
    const Scan& s = scan_of(*p);
    EXPECT_TRUE(s.attribution.errors.empty());
    ASSERT_EQ(s.attribution.tables().size(), rows.size());
    for (const ComputedRow& r : rows) {
      SCOPED_TRACE(r.table);
      const size_t dot = r.table.find('.');
      const TableStats* t = s.table(r.table.substr(0, dot), r.table.substr(dot + 1));
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->bytes - t->table_map_bytes, r.rows_event_bytes);
      EXPECT_EQ(t->rows_events, r.rows_events);
      EXPECT_EQ(t->table_map_bytes, r.table_map_bytes);
      EXPECT_NEAR(100.0 * static_cast<double>(t->bytes) / static_cast<double>(key.second), r.pct,
                  0.0051);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Row counts the fixtures' SQL makes true

struct Counts {
  uint64_t inserts, updates, deletes;
  bool operator==(const Counts&) const = default;
};
void PrintTo(const Counts& c, std::ostream* os) {
  *os << "{inserts " << c.inserts << ", updates " << c.updates << ", deletes " << c.deletes << "}";
}
Counts counts_of(const Scan& s, const std::string& schema, const std::string& table) {
  const TableStats* t = s.table(schema, table);
  EXPECT_NE(t, nullptr) << schema << "." << table;
  if (!t) return {};
  return {t->inserts, t->updates, t->deletes};
}

// local-mariadb-10.11.19-generated/workload.sql, binlog_format=ROW (my.cnf.used):
//   INSERT INTO big_blob SELECT ... FROM seq_1_to_200          -> big_blob +200 inserts
//   UPDATE big_blob SET payload = REPEAT('u',1500) WHERE id<=50 -> big_blob  +50 updates (ids 1..50)
//   INSERT INTO small (v) SELECT seq FROM seq_1_to_1000         -> small   +1000 inserts
//   INSERT INTO churn SELECT ... FROM seq_1_to_100              -> churn    +100 inserts
//   DELETE FROM churn                                           -> churn    +100 deletes
//   BEGIN; INSERT INTO small (v) VALUES (1),(2),(3);            -> small      +3 inserts
//          UPDATE big_blob SET payload='x' WHERE id=200; COMMIT -> big_blob   +1 update
// Totals: big_blob {200, 51, 0}, small {1003, 0, 0}, churn {100, 0, 100}. mariadb-bin.000004 ran
// the same workload in schema wd2 (SOURCES.txt); .000002 is STATEMENT format (no row events).
TEST_F(RealFixtures, LocalMariaDbWorkloadRowCounts) {
  const std::string sql = read_text(at("local-mariadb-10.11.19-generated/workload.sql"));
  for (const char* stmt : {"FROM seq_1_to_200;", "WHERE id <= 50;", "FROM seq_1_to_1000;",
                           "FROM seq_1_to_100;", "DELETE FROM churn;",
                           "INSERT INTO small (v) VALUES (1),(2),(3);",
                           "UPDATE big_blob SET payload='x' WHERE id=200;"}) {
    ASSERT_NE(sql.find(stmt), std::string::npos) << "workload.sql changed: " << stmt;
  }
  for (const auto& [file, schema] : {std::pair{"mariadb-bin.000001", "wd"}, {"mariadb-bin.000004", "wd2"}}) {
    SCOPED_TRACE(file);
    const Scan& s = scan_of(at(std::string("local-mariadb-10.11.19-generated/") + file));
    EXPECT_TRUE(s.attribution.errors.empty());
    EXPECT_EQ(counts_of(s, schema, "big_blob"), (Counts{200, 51, 0}));
    EXPECT_EQ(counts_of(s, schema, "small"), (Counts{1003, 0, 0}));
    EXPECT_EQ(counts_of(s, schema, "churn"), (Counts{100, 0, 100}));
  }
  const Scan& stmt = scan_of(at("local-mariadb-10.11.19-generated/mariadb-bin.000002"));
  EXPECT_TRUE(stmt.attribution.tables().empty());
  EXPECT_GT(stmt.attribution.other.statement, 0u);
}

// mysql-cdc-rs 8.0 sql.sql transcripts (UTF-16LE):
//  02_query_bigger (binlog.000733): LINEITEM: INSERT 1 row, INSERT 5 rows (keys ...876-...880),
//    UPDATE ... WHERE L_ORDERKEY = 12345678909877 (1 row), DELETE ... > 12345678909879 (1 row:
//    ...880; 1234567890111 is smaller), DELETE ... >= 12345678909879 (1 row: ...879)
//    -> {6, 1, 2}; Demo: INSERT 5 rows -> {5, 0, 0}.
//  31_update_rows_v2: int_table INSERT 1 row, UPDATE ... WHERE col1=1 (1 row) -> {1, 1, 0}.
//  32_delete_rows_v2: the same plus DELETE ... WHERE col1=1 (1 row) -> {1, 1, 1}.
TEST_F(RealFixtures, MysqlCdcRs80RowCounts) {
  const std::string dir = "mysql-cdc-rs/tests/events/8.0/";
  {
    const std::string sql = utf16le_to_ascii(read_text(at(dir + "02_query_bigger/sql.sql")));
    ASSERT_NE(sql.find("where L_ORDERKEY = 12345678909877"), std::string::npos);
    ASSERT_NE(sql.find("delete from LINEITEM where L_ORDERKEY > 12345678909879"), std::string::npos);
    ASSERT_NE(sql.find("delete from LINEITEM where L_ORDERKEY >= 12345678909879"), std::string::npos);
    const Scan& s = scan_of(at(dir + "02_query_bigger/binlog.000733"));
    EXPECT_TRUE(s.attribution.errors.empty());
    EXPECT_EQ(counts_of(s, "test", "LINEITEM"), (Counts{6, 1, 2}));
    EXPECT_EQ(counts_of(s, "test", "Demo"), (Counts{5, 0, 0}));
  }
  {
    const std::string sql = utf16le_to_ascii(read_text(at(dir + "31_update_rows_v2/sql.sql")));
    ASSERT_NE(sql.find("insert into int_table values(1,11,111,1111,11111,true);"), std::string::npos);
    ASSERT_NE(sql.find("update int_table set col2=22,col3=222 where col1=1;"), std::string::npos);
    const Scan& s = scan_of(at(dir + "31_update_rows_v2/binlog.000001"));
    EXPECT_EQ(counts_of(s, "test", "int_table"), (Counts{1, 1, 0}));
  }
  {
    const std::string sql = utf16le_to_ascii(read_text(at(dir + "32_delete_rows_v2/sql.sql")));
    ASSERT_NE(sql.find("delete from int_table where col1=1;"), std::string::npos);
    const Scan& s = scan_of(at(dir + "32_delete_rows_v2/binlog.000001"));
    EXPECT_EQ(counts_of(s, "test", "int_table"), (Counts{1, 1, 1}));
  }
}

// mysql-cdc-rs 5.7 sql.sql (ASCII), ROW-format folders: each INSERTs one row into `boxercrab`
// (logged under the schema `default`); 31_update_rows_v2 runs RESET MASTER after its INSERT, so
// only its UPDATE (1 row, the table has 1 row) is in the file; 32_delete_rows_v2 INSERTs 1 row and
// DELETEs all rows (1).
TEST_F(RealFixtures, MysqlCdcRs57RowCounts) {
  const std::string dir = "mysql-cdc-rs/tests/events/5.7/";
  for (const char* one_insert : {"16_xid", "19_table_map", "29_row_query", "30_write_rows_v2",
                                 "33_35_gtid_prev_gtid", "34_anonymous_gtid"}) {
    SCOPED_TRACE(one_insert);
    const std::string sql = read_text(at(dir + one_insert + "/sql.sql"));
    ASSERT_NE(sql.find("INSERT INTO `boxercrab` (`title`) VALUES ("), std::string::npos);
    EXPECT_EQ(counts_of(scan_of(at(dir + one_insert + "/log.bin")), "default", "boxercrab"),
              (Counts{1, 0, 0}));
  }
  {
    const std::string sql = read_text(at(dir + "31_update_rows_v2/sql.sql"));
    ASSERT_LT(sql.find("reset master;"), sql.find("UPDATE boxercrab set"));
    EXPECT_EQ(counts_of(scan_of(at(dir + "31_update_rows_v2/log.bin")), "default", "boxercrab"),
              (Counts{0, 1, 0}));
  }
  {
    const std::string sql = read_text(at(dir + "32_delete_rows_v2/sql.sql"));
    ASSERT_NE(sql.find("DELETE FROM `boxercrab`;"), std::string::npos);
    EXPECT_EQ(counts_of(scan_of(at(dir + "32_delete_rows_v2/log.bin")), "default", "boxercrab"),
              (Counts{1, 0, 1}));
  }
}

// go-mysql ddsql.sql: one INSERT of 17 value tuples into decodedecimal (14 columns: id INT,
// 11 DECIMAL(p,s), prec INT, scale INT), every value given (no NULLs). Each DECIMAL column's
// after-image bytes are therefore 17 x decimal_bin_size(p, s).
TEST_F(RealFixtures, GoMysqlDecimalRows) {
  const std::string sql = read_text(at("go-mysql/replication/t/ddsql.sql"));
  size_t tuples = 0;
  std::stringstream ss(sql);
  std::string line;
  bool in_insert = false;
  while (std::getline(ss, line)) {
    if (line.starts_with("INSERT INTO decodedecimal")) in_insert = true;
    else if (in_insert && line.starts_with("(")) ++tuples;
    else if (in_insert && line.starts_with(";")) break;
  }
  ASSERT_EQ(tuples, 17u);
  ASSERT_EQ(sql.find("NULL"), std::string::npos);
  const Scan& s = scan_of(at("go-mysql/replication/t/tcb-eval002c-bin.003320"));
  const TableStats* t = s.table("test", "decodedecimal");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->inserts, 17u);
  EXPECT_EQ(t->rows_events, 1u);
  ASSERT_EQ(t->columns.after.size(), 14u);
  const uint32_t ps[11][2] = {{4, 2},  {5, 0},   {7, 3},   {10, 2}, {10, 3}, {13, 2},
                              {15, 14}, {20, 10}, {30, 5}, {30, 20}, {30, 25}};
  EXPECT_EQ(t->columns.after[0], 17u * 4);
  for (size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(t->columns.after[i + 1], 17u * binlog::decimal_bin_size(ps[i][0], ps[i][1]))
        << "DECIMAL(" << ps[i][0] << "," << ps[i][1] << ")";
  }
  EXPECT_EQ(t->columns.after[12], 17u * 4);
  EXPECT_EQ(t->columns.after[13], 17u * 4);
  EXPECT_EQ(t->columns.image_overhead, 17u * 2);  // a 2-byte NULL bitmap per image
  for (uint64_t n : t->columns.nulls) EXPECT_EQ(n, 0u);
}

// rust_mysql_common upstream facts about column metadata and rows that are visible in the
// attribution: mysql_type_bit (rows of [BIT, 'foo', BIT]), mariadb-bin.000001 (FULL metadata:
// column names of toddy_test.outbox).
TEST_F(RealFixtures, UpstreamColumnFacts) {
  const Scan& mdb = scan_of(at("rust_mysql_common/test-data/binlogs/mariadb-bin.000001"));
  const TableStats* outbox = mdb.table("toddy_test", "outbox");
  ASSERT_NE(outbox, nullptr);
  EXPECT_EQ(outbox->column_names,
            (std::vector<std::string>{"id", "topic", "event_type", "event", "created"}));
  EXPECT_EQ(outbox->rows_events, 2u);  // SOURCES.txt: WRITE_ROWS_v1:2
  EXPECT_GT(outbox->inserts, 0u);
  const Scan& bit = scan_of(at("rust_mysql_common/test-data/binlogs/mysql_type_bit.000001"));
  const TableStats* foo = bit.table("mysql", "foo");
  ASSERT_NE(foo, nullptr);
  ASSERT_EQ(foo->columns.after.size(), 3u);
  ASSERT_GT(foo->inserts, 0u);
  // BIT(3) and BIT(8) are 1 byte each per row; 'foo' is a BLOB with a 2-byte prefix.
  EXPECT_EQ(foo->columns.after[0], foo->inserts * 1);
  EXPECT_EQ(foo->columns.after[1], foo->inserts * (2 + 3));
  EXPECT_EQ(foo->columns.after[2], foo->inserts * 1);
}

}  // namespace
}  // namespace binwatch
