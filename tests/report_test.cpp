// `binwatch report` end to end: runs the real executable (BINWATCH_EXE, from CMake) on a binlog
// built here and on the shared fixtures (skipped when absent), and checks the JSON contract, the
// attribution invariant in the output, exit codes 0/1/2 with their messages, and that the output
// does not depend on --threads.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace binwatch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kRoot = BINWATCH_SHARED_FIXTURES;
const std::string kExe = BINWATCH_EXE;

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "binwatch-report-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// Runs binwatch with `args`, stdout and stderr to files (no pipe deadlocks on large output).
ProcessResult run_binwatch(const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path out = scratch / "stdout", err = scratch / "stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_s{kExe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ProcessResult r;
  const int rc = posix_spawn(&pid, kExe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << kExe << ": " << std::strerror(rc);
    return r;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// ---------------------------------------------------------------------------------------------
// A small MySQL 8.0 binlog with CRC32, built here: FDE, QUERY BEGIN, TABLE_MAP shop.items,
// WRITE_ROWS_v2 with `rows` rows, XID, then optionally a torn tail.

struct Buf {
  std::vector<uint8_t> b;
  Buf& u8(uint64_t v) { b.push_back(static_cast<uint8_t>(v)); return *this; }
  Buf& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) u8(v >> (8 * i));
    return *this;
  }
  Buf& str(std::string_view s) {
    for (char c : s) u8(static_cast<unsigned char>(c));
    return *this;
  }
  Buf& raw(const std::vector<uint8_t>& o) {
    b.insert(b.end(), o.begin(), o.end());
    return *this;
  }
};

std::vector<uint8_t> event(uint8_t type, const Buf& body, uint32_t ts, uint16_t flags = 0) {
  Buf e;
  const uint32_t size = static_cast<uint32_t>(19 + body.b.size() + 4);
  e.le(ts, 4).u8(type).le(1, 4).le(size, 4).le(0, 4).le(flags, 2).raw(body.b);
  Buf crc_input = e;
  if (type == 15) crc_input.b[17] &= 0xfe;
  e.le(::crc32(0, crc_input.b.data(), static_cast<uInt>(crc_input.b.size())), 4);
  return e.b;
}

struct Synthetic {
  std::vector<uint8_t> bytes;
  uint64_t fde = 0, query = 0, table_map = 0, rows = 0, xid = 0;
};

Synthetic synthetic_binlog(int rows, bool in_use = false) {
  Synthetic s;
  Buf f;
  f.le(4, 2);
  std::string v = "8.0.36";
  v.resize(50, '\0');
  f.str(v).le(1700000000, 4).u8(19);
  const uint8_t post[41] = {0, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 98, 0, 4, 26, 8, 0, 0,
                            0, 8, 8, 8, 2, 0, 0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10, 40, 0};
  for (uint8_t p : post) f.u8(p);
  f.u8(1);  // CRC32
  const auto fde = event(15, f, 1700000000, in_use ? 1 : 0);
  Buf q;
  q.le(9, 4).le(0, 4).u8(4).le(0, 2).le(0, 2).str("shop").u8(0).str("BEGIN");
  const auto query = event(2, q, 1700000001);
  Buf m;
  m.le(77, 6).le(1, 2).u8(4).str("shop").u8(0).u8(5).str("items").u8(0);
  m.u8(2).u8(3).u8(15).u8(2).le(40, 2).u8(0x02);  // INT, VARCHAR(40); name nullable
  const auto map = event(19, m, 1700000001);
  Buf w;
  w.le(77, 6).le(1, 2).le(2, 2).u8(2).u8(0x03);
  for (int i = 0; i < rows; ++i) {
    const std::string name = "item-" + std::to_string(i);
    w.u8(0).le(i, 4).u8(name.size()).str(name);
  }
  const auto write = event(30, w, 1700000001);
  const auto xid = event(16, Buf{}.le(5, 8), 1700000002);
  s.bytes = {0xfe, 0x62, 0x69, 0x6e};
  for (const auto* e : {&fde, &query, &map, &write, &xid}) s.bytes.insert(s.bytes.end(), e->begin(), e->end());
  s.fde = fde.size();
  s.query = query.size();
  s.table_map = map.size();
  s.rows = write.size();
  s.xid = xid.size();
  return s;
}

fs::path write_file(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& data) {
  const fs::path p = dir / name;
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return p;
}

// The JSON contract (docs: `binwatch report --format json`) and the attribution invariant.
void expect_contract(const json& j) {
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"files", "tables", "other", "errors", "total_bytes"}) {
    ASSERT_TRUE(j.contains(key)) << key;
  }
  uint64_t size_sum = 0;
  for (const auto& f : j.at("files")) {
    for (const char* key : {"path", "size", "server_version", "checksum", "events", "first_event_time",
                            "last_event_time", "closed_cleanly", "torn_tail"}) {
      EXPECT_TRUE(f.contains(key)) << key;
    }
    EXPECT_TRUE(f.at("path").is_string());
    EXPECT_TRUE(f.at("size").is_number_unsigned());
    EXPECT_TRUE(f.at("checksum") == "crc32" || f.at("checksum") == "none") << f.at("checksum");
    EXPECT_TRUE(f.at("closed_cleanly").is_boolean());
    EXPECT_TRUE(f.at("torn_tail").is_null() || (f.at("torn_tail").contains("offset") &&
                                                 f.at("torn_tail").contains("bytes")));
    for (const char* t : {"first_event_time", "last_event_time"}) {
      const auto& v = f.at(t);
      EXPECT_TRUE(v.is_null() || (v.is_string() && v.get<std::string>().size() == 20 &&
                                  v.get<std::string>().back() == 'Z'))
          << v;
    }
    size_sum += f.at("size").get<uint64_t>();
  }
  const uint64_t total = j.at("total_bytes").get<uint64_t>();
  EXPECT_EQ(total, size_sum);
  uint64_t table_sum = 0, prev = UINT64_MAX;
  for (const auto& t : j.at("tables")) {
    for (const char* key : {"schema", "table", "bytes", "uncompressed_bytes", "events", "rows",
                            "inserts", "updates", "deletes", "share"}) {
      EXPECT_TRUE(t.contains(key)) << key;
    }
    const uint64_t bytes = t.at("bytes").get<uint64_t>();
    EXPECT_LE(bytes, prev) << "tables[] not sorted by bytes descending";
    prev = bytes;
    table_sum += bytes;
    EXPECT_EQ(t.at("rows").get<uint64_t>(), t.at("inserts").get<uint64_t>() +
                                                t.at("updates").get<uint64_t>() +
                                                t.at("deletes").get<uint64_t>());
    EXPECT_NEAR(t.at("share").get<double>(),
                total ? static_cast<double>(bytes) / static_cast<double>(total) : 0.0, 1e-9);
  }
  const auto& o = j.at("other");
  uint64_t other_sum = 0;
  for (const char* key : {"statement", "overhead", "magic", "torn", "corrupt"}) {
    ASSERT_TRUE(o.contains(key)) << key;
    other_sum += o.at(key).get<uint64_t>();
  }
  EXPECT_EQ(table_sum + other_sum, total) << "attribution invariant";
  EXPECT_TRUE(j.at("errors").is_array());
  for (const auto& e : j.at("errors")) {
    for (const char* key : {"file", "offset", "kind", "detail"}) EXPECT_TRUE(e.contains(key)) << key;
  }
}

json parse(const ProcessResult& r) {
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "output is not JSON: " << e.what() << "\n" << r.out.substr(0, 500);
    return {};
  }
}

class Report : public ::testing::Test {
 protected:
  TempDir m_tmp;
};

TEST_F(Report, SyntheticBinlogExactAttribution) {
  const Synthetic s = synthetic_binlog(25);
  const fs::path p = write_file(m_tmp.path(), "synthetic-bin.000001", s.bytes);
  const ProcessResult r = run_binwatch({"report", "--format", "json", p.string()}, m_tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const json j = parse(r);
  expect_contract(j);
  ASSERT_EQ(j.at("files").size(), 1u);
  const auto& f = j.at("files")[0];
  EXPECT_EQ(f.at("path"), p.string());
  EXPECT_EQ(f.at("size"), s.bytes.size());
  EXPECT_EQ(f.at("server_version"), "8.0.36");
  EXPECT_EQ(f.at("checksum"), "crc32");
  EXPECT_EQ(f.at("events"), 5);
  EXPECT_EQ(f.at("first_event_time"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(f.at("last_event_time"), "2023-11-14T22:13:22Z");
  EXPECT_EQ(f.at("closed_cleanly"), true);
  EXPECT_TRUE(f.at("torn_tail").is_null());
  ASSERT_EQ(j.at("tables").size(), 1u);
  const auto& t = j.at("tables")[0];
  EXPECT_EQ(t.at("schema"), "shop");
  EXPECT_EQ(t.at("table"), "items");
  EXPECT_EQ(t.at("bytes"), s.table_map + s.rows);
  EXPECT_EQ(t.at("uncompressed_bytes"), s.table_map + s.rows);
  EXPECT_EQ(t.at("events"), 2);
  EXPECT_EQ(t.at("rows"), 25);
  EXPECT_EQ(t.at("inserts"), 25);
  EXPECT_EQ(t.at("updates"), 0);
  EXPECT_EQ(t.at("deletes"), 0);
  const auto& o = j.at("other");
  EXPECT_EQ(o.at("statement"), s.query);
  EXPECT_EQ(o.at("overhead"), s.fde + s.xid);
  EXPECT_EQ(o.at("magic"), 4);
  EXPECT_EQ(o.at("torn"), 0);
  EXPECT_EQ(o.at("corrupt"), 0);
  EXPECT_TRUE(j.at("errors").empty());
  EXPECT_EQ(j.at("total_bytes"), s.bytes.size());

  // The default table format works on the same file.
  const ProcessResult table = run_binwatch({"report", p.string()}, m_tmp.path());
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("shop.items"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("TOTAL"), std::string::npos) << table.out;
}

TEST_F(Report, RepeatableOptionsNeverSwallowTheFiles) {
  const Synthetic s = synthetic_binlog(3);
  const fs::path p = write_file(m_tmp.path(), "synthetic-bin.000001", s.bytes);
  // --by, --table and --database take one value each (comma lists for --by), wherever they are.
  const ProcessResult r = run_binwatch({"report", "--format", "json", "--by", "column,minute", "--table",
                                        "shop.items", p.string(), "--by", "type", "-d", "shop"},
                                       m_tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse(r);
  EXPECT_TRUE(j.contains("columns") && j.contains("minutes"));
  EXPECT_FALSE(j.contains("statements"));
  EXPECT_EQ(j.at("filters").at("tables"), json::array({"shop.items"}));
  EXPECT_EQ(j.at("filters").at("databases"), json::array({"shop"}));
  const ProcessResult bad = run_binwatch({"report", "--by", "tables", p.string()}, m_tmp.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--by"), std::string::npos) << bad.err;
}

TEST_F(Report, ProgressOnlyWhenAskedOrOnATerminal) {
  const Synthetic s = synthetic_binlog(3);
  const fs::path p = write_file(m_tmp.path(), "synthetic-bin.000001", s.bytes);
  // stderr is a file here, not a terminal: auto draws nothing.
  const ProcessResult quiet = run_binwatch({"report", p.string()}, m_tmp.path());
  ASSERT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  const ProcessResult shown = run_binwatch({"report", "--format", "json", "--progress", "always", p.string()}, m_tmp.path());
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.err.find("binwatch report: ["), std::string::npos) << shown.err;
  EXPECT_NE(shown.err.find(" / " + std::to_string(s.bytes.size()) + " B"), std::string::npos) << shown.err;
  EXPECT_TRUE(json::accept(shown.out)) << shown.out;  // stdout stays pure JSON
}

TEST_F(Report, TornFileIsAWarningNotAFailure) {
  Synthetic s = synthetic_binlog(3, /*in_use=*/true);
  const uint64_t whole = s.bytes.size();
  // A crash while writing: half of the next event's header.
  for (int i = 0; i < 11; ++i) s.bytes.push_back(0x42);
  const fs::path p = write_file(m_tmp.path(), "torn-bin.000002", s.bytes);
  const ProcessResult r = run_binwatch({"report", "--format", "json", p.string()}, m_tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(p.string()), std::string::npos) << r.err;
  const json j = parse(r);
  expect_contract(j);
  const auto& f = j.at("files")[0];
  EXPECT_EQ(f.at("closed_cleanly"), false);
  ASSERT_TRUE(f.at("torn_tail").is_object());
  EXPECT_EQ(f.at("torn_tail").at("offset"), whole);
  EXPECT_EQ(f.at("torn_tail").at("bytes"), 11);
  EXPECT_EQ(j.at("other").at("torn"), 11);
  EXPECT_TRUE(j.at("errors").empty());
}

TEST_F(Report, FlippedByteExitsOneWithLocatedError) {
  Synthetic s = synthetic_binlog(10);
  const uint64_t rows_at = 4 + s.fde + s.query + s.table_map;
  s.bytes[rows_at + 30] ^= 0x01;  // inside the WRITE_ROWS body
  const fs::path p = write_file(m_tmp.path(), "flipped-bin.000001", s.bytes);
  const ProcessResult r = run_binwatch({"report", "--format", "json", p.string()}, m_tmp.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json j = parse(r);
  expect_contract(j);
  ASSERT_EQ(j.at("errors").size(), 1u);
  const auto& e = j.at("errors")[0];
  EXPECT_EQ(e.at("file"), p.string());
  EXPECT_EQ(e.at("offset"), rows_at);
  EXPECT_EQ(e.at("kind"), "checksum");
  EXPECT_EQ(j.at("other").at("corrupt"), s.rows);
  EXPECT_NE(r.err.find("offset " + std::to_string(rows_at)), std::string::npos) << r.err;
}

TEST_F(Report, NotABinlogMissingAndDirectoryExitTwoNamingTheFile) {
  const Synthetic s = synthetic_binlog(1);
  const fs::path good = write_file(m_tmp.path(), "good-bin.000001", s.bytes);
  const fs::path text = m_tmp.path() / "notes.txt";
  std::ofstream(text) << "this is not a binlog\n";
  const fs::path empty = m_tmp.path() / "empty.bin";
  std::ofstream(empty).flush();
  const fs::path missing = m_tmp.path() / "no-such-bin.000009";
  const fs::path dir = m_tmp.path() / "a-directory";
  fs::create_directory(dir);
  for (const fs::path& bad : {text, empty, missing, dir}) {
    SCOPED_TRACE(bad.string());
    for (const auto& args : {std::vector<std::string>{"report", "--format", "json", bad.string()},
                             std::vector<std::string>{"report", good.string(), bad.string()}}) {
      const ProcessResult r = run_binwatch(args, m_tmp.path());
      EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
      EXPECT_NE(r.err.find(bad.string()), std::string::npos) << "stderr does not name it: " << r.err;
      EXPECT_EQ(r.out, "") << "no report on exit 2";
    }
  }
  // Bad arguments are exit 2 as well.
  EXPECT_EQ(run_binwatch({"report", "--format", "xml", good.string()}, m_tmp.path()).exit_code, 2);
  EXPECT_EQ(run_binwatch({"report"}, m_tmp.path()).exit_code, 2);
}

TEST_F(Report, OutputDoesNotDependOnThreads) {
  std::vector<std::string> files;
  for (int i = 0; i < 6; ++i) {
    files.push_back(write_file(m_tmp.path(), "bin.00000" + std::to_string(i + 1),
                               synthetic_binlog(i * 7 + 1).bytes)
                        .string());
  }
  if (fs::is_directory(kRoot)) {
    for (const char* rel : {"local-mariadb-10.11.19-generated/mariadb-bin.000001",
                            "rust_mysql_common/test-data/binlogs/transaction_compression.000001",
                            "mysql-cdc-rs/tests/events/8.0/02_query_bigger/binlog.000733",
                            "rust_mysql_common/test-data/binlogs/corrupt-relay-bin.000624",
                            "rust_mysql_common/test-data/binlogs/binlog_truncated_prev_gtid_event.000001"}) {
      files.push_back((kRoot / rel).string());
    }
  }
  std::vector<std::string> base{"report", "--format", "json"};
  auto with = [&](const char* threads) {
    std::vector<std::string> a = base;
    a.push_back("--threads");
    a.push_back(threads);
    a.insert(a.end(), files.begin(), files.end());
    return run_binwatch(a, m_tmp.path());
  };
  const ProcessResult one = with("1");
  const ProcessResult four = with("4");
  const ProcessResult all = with("0");
  EXPECT_EQ(one.exit_code, four.exit_code);
  EXPECT_EQ(one.out, four.out);
  EXPECT_EQ(one.out, all.out);
  EXPECT_EQ(one.err, four.err);
  const json j = parse(one);
  expect_contract(j);
  ASSERT_EQ(j.at("files").size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(j.at("files")[i].at("path"), files[i]);
  // The synthetic tables merge across files by name.
  uint64_t rows = 0;
  for (int i = 0; i < 6; ++i) rows += static_cast<uint64_t>(i * 7 + 1);
  bool found = false;
  for (const auto& t : j.at("tables")) {
    if (t.at("schema") == "shop" && t.at("table") == "items") {
      found = true;
      EXPECT_EQ(t.at("inserts"), rows);
    }
  }
  EXPECT_TRUE(found);
}

// The contract and the invariant on real files, and the exit codes SOURCES.txt implies.
TEST_F(Report, RealFixturesJson) {
  if (!fs::is_directory(kRoot)) {
    GTEST_SKIP() << "shared fixtures folder " << kRoot
                 << " is absent; configure with -DBINWATCH_SHARED_FIXTURES=<dir> to run this";
  }
  struct Case {
    const char* rel;
    int exit_code;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"local-mariadb-10.11.19-generated/mariadb-bin.000001", 0},
           {"local-mariadb-10.11.19-generated/mariadb-bin.000004", 0},
           {"mysql-cdc-rs/history-ea3363c/tests/events/8.0/folder/binlog.000693", 0},
           {"rust_mysql_common/test-data/binlogs/transaction_compression.000001", 0},
           {"mariadb-poc/mariadb-binlog/binlogs/domain_id_0/mariadb-repl-bin.000002", 0},
           {"rust_mysql_common/test-data/binlogs/binlog_truncated_event.000001", 0},
           {"rust_mysql_common/test-data/binlogs/binlog_truncated_prev_gtid_event.000001", 0},
           {"rust_mysql_common/test-data/binlogs/corrupt-relay-bin.000624", 1},
           {"rust_mysql_common/test-data/binlogs/ver_5_1-wl2325_s.001", 1},
       }) {
    SCOPED_TRACE(c.rel);
    const fs::path p = kRoot / c.rel;
    const ProcessResult r = run_binwatch({"report", "--format", "json", p.string()}, m_tmp.path());
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    const json j = parse(r);
    expect_contract(j);
    EXPECT_EQ(j.at("total_bytes"), fs::file_size(p));
    EXPECT_EQ(j.at("errors").empty(), c.exit_code == 0);
    const bool torn = std::string(c.rel).find("truncated") != std::string::npos;
    EXPECT_EQ(j.at("files")[0].at("torn_tail").is_null(), !torn);
    if (torn) {
      EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
    }
  }

  // A copy of a clean CRC32 file with one byte flipped: exit 1, the error in errors[].
  const fs::path src = kRoot / "mysql-cdc-rs/tests/events/8.0/02_query_bigger/binlog.000733";
  std::string bytes = slurp(src);
  ASSERT_GT(bytes.size(), 4000u);
  bytes[4000] = static_cast<char>(bytes[4000] ^ 0x20);
  const fs::path copy = m_tmp.path() / "binlog.000733";
  std::ofstream(copy, std::ios::binary) << bytes;
  const ProcessResult r = run_binwatch({"report", "--format", "json", copy.string()}, m_tmp.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json j = parse(r);
  expect_contract(j);
  ASSERT_FALSE(j.at("errors").empty());
  EXPECT_EQ(j.at("errors")[0].at("kind"), "checksum");
  EXPECT_LE(j.at("errors")[0].at("offset").get<uint64_t>(), 4000u);
  EXPECT_EQ(j.at("total_bytes"), bytes.size());
}

}  // namespace
}  // namespace binwatch
