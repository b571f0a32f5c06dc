// Proves the private-MariaDB test harness (tests/support/mariadb_server.h and
// scripts/mariadb-test-server.sh): each binlog variant starts with exactly the requested settings,
// its binlogs grow and hold what scripts/sql/typed-rows.expected.json promises (checked with the
// server's own `mariadb-binlog`, independent of binwatch's decoder), and nothing is left running
// or on disk after destruction, a signal, exit() or SIGKILL.
// Needs mariadb-server and mariadb-client; skips when they are absent.
#include "support/mariadb_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace binwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct RowCounts {
  long inserts = 0, updates = 0, deletes = 0;
  bool operator==(const RowCounts&) const = default;
};

void PrintTo(const RowCounts& c, std::ostream* os) {
  *os << "{inserts " << c.inserts << ", updates " << c.updates << ", deletes " << c.deletes << "}";
}

std::map<std::string, RowCounts> expected_typed_rows() {
  std::ifstream in(source_path("scripts/sql/typed-rows.expected.json"));
  const auto json = nlohmann::json::parse(in);
  std::map<std::string, RowCounts> counts;
  for (const auto& [table, c] : json.at("tables").items())
    counts[table] = {c.at("inserts").get<long>(), c.at("updates").get<long>(), c.at("deletes").get<long>()};
  return counts;
}

// `mariadb-binlog --verbose` over the files: the reference decoder the expected counts are checked with.
std::string decode_with_mariadb_binlog(const std::vector<fs::path>& files) {
  std::vector<std::string> argv{"mariadb-binlog", "--no-defaults", "--verbose", "--print-table-metadata",
                                "--base64-output=DECODE-ROWS"};
  for (const auto& file : files) argv.push_back(file.string());
  CommandResult result = run_command(argv);
  if (result.exit_code != 0)
    throw std::runtime_error("mariadb-binlog failed (" + std::to_string(result.exit_code) + "): " +
                             result.output.substr(0, 2000));
  return std::move(result.output);
}

// Rows per table from the "### INSERT INTO `db`.`t`" / "### UPDATE ..." / "### DELETE FROM ..." lines.
std::map<std::string, RowCounts> count_rows(const std::string& decoded) {
  std::map<std::string, RowCounts> counts;
  std::istringstream in(decoded);
  auto table_name = [](std::string quoted) {
    std::erase(quoted, '`');
    return quoted;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("### INSERT INTO ")) {
      ++counts[table_name(line.substr(16))].inserts;
    } else if (line.starts_with("### UPDATE ")) {
      ++counts[table_name(line.substr(11))].updates;
    } else if (line.starts_with("### DELETE FROM ")) {
      ++counts[table_name(line.substr(16))].deletes;
    }
  }
  return counts;
}

// Columns in the before image (the WHERE part) of the first UPDATE of `table`.
int before_image_columns(const std::string& decoded, const std::string& table) {
  const auto at = decoded.find("### UPDATE " + table + "\n### WHERE\n");
  if (at == std::string::npos) return -1;
  std::istringstream in(decoded.substr(at));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  int columns = 0;
  while (std::getline(in, line) && line.starts_with("###   @")) ++columns;
  return columns;
}

int count_occurrences(const std::string& text, std::string_view needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::uintmax_t file_size_or_zero(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  return ec ? 0 : size;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// One server per binlog variant: settings, growth, typed-rows counts, clean destruction.
// ---------------------------------------------------------------------------------------------
struct Variant {
  std::string name;
  MariadbServer::Options options;
};

void PrintTo(const Variant& variant, std::ostream* os) { *os << variant.name; }

class HarnessVariant : public ::testing::TestWithParam<Variant> {
protected:
  void SetUp() override { BINWATCH_REQUIRE_MARIADB(); }
};

TEST_P(HarnessVariant, ReportsSettingsLogsTypedRowsAndCleansUp) {
  const MariadbServer::Options& options = GetParam().options;
  std::optional<MariadbServer> server(std::in_place, options);

  EXPECT_EQ(server->variable("binlog_checksum"), to_string(options.checksum));
  EXPECT_EQ(server->variable("binlog_row_image"), to_string(options.row_image));
  EXPECT_EQ(server->variable("binlog_row_metadata"), to_string(options.row_metadata));
  EXPECT_EQ(server->variable("log_bin_compress"), options.compress ? "1" : "0");
  EXPECT_EQ(server->variable("log_bin_compress_min_len"), "10");
  EXPECT_EQ(server->variable("binlog_format"), "ROW");
  EXPECT_EQ(server->variable("log_bin"), "1");
  EXPECT_EQ(server->variable("server_id"), "1");
  EXPECT_EQ(server->variable("log_bin_basename"), (server->binlog_dir() / "mariadb-bin").string());
  EXPECT_EQ(server->variable("port"), std::to_string(server->port()));
  EXPECT_EQ(server->variable("socket"), server->socket());

  const std::vector<fs::path> before = server->binlog_files();
  ASSERT_FALSE(before.empty());
  for (const auto& file : before) EXPECT_TRUE(fs::is_regular_file(file)) << file;
  const std::uintmax_t size_before = file_size_or_zero(before.back());

  server->exec_file(source_path("scripts/sql/typed-rows.sql"));
  EXPECT_GT(file_size_or_zero(before.back()), size_before + 10000) << "the binlog did not grow";

  server->flush_binary_logs();
  const std::vector<fs::path> after = server->binlog_files();
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
  EXPECT_TRUE(fs::is_regular_file(after.back()));

  // The files themselves, read by MariaDB's own decoder, not just the variables, show the variant.
  const std::string decoded = decode_with_mariadb_binlog(after);
  const auto expected = expected_typed_rows();
  const auto actual = count_rows(decoded);
  EXPECT_EQ(actual, expected);

  const int headers = count_occurrences(decoded, " end_log_pos ");
  const int with_crc = count_occurrences(decoded, " CRC32 0x");
  ASSERT_GT(headers, 100);
  if (options.checksum == BinlogChecksum::Crc32) {
    EXPECT_EQ(with_crc, headers);
  } else {
    EXPECT_EQ(with_crc, 0);
  }
  const int compressed =
      count_occurrences(decoded, "_compressed_rows:") + count_occurrences(decoded, "Query_compressed");
  if (options.compress) {
    EXPECT_GT(compressed, 20);
  } else {
    EXPECT_EQ(compressed, 0);
  }
  const bool column_names = decoded.find("# Columns(`id` INT UNSIGNED NOT NULL") != std::string::npos;
  EXPECT_EQ(column_names, options.row_metadata == RowMetadata::Full);
  // t_int: id + 10 integers; t_text: id, tag + 8 TEXT/BLOB columns.
  const std::map<RowImage, std::pair<int, int>> before_columns{
      {RowImage::Full, {11, 10}}, {RowImage::Minimal, {1, 1}}, {RowImage::NoBlob, {11, 2}}};
  EXPECT_EQ(before_image_columns(decoded, "`bw`.`t_int`"), before_columns.at(options.row_image).first);
  EXPECT_EQ(before_image_columns(decoded, "`bw`.`t_text`"), before_columns.at(options.row_image).second);

  const pid_t pid = server->pid();
  const fs::path dir = server->dir();
  ASSERT_TRUE(process_alive(pid));
  server.reset();
  EXPECT_FALSE(process_alive(pid)) << "mariadbd " << pid << " survived the destructor";
  EXPECT_FALSE(fs::exists(dir)) << dir << " survived the destructor";
}

MariadbServer::Options with(auto change) {
  MariadbServer::Options options;
  change(options);
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, HarnessVariant,
    ::testing::Values(
        Variant{"Crc32FullDefaults", {}},
        Variant{"ChecksumNone", with([](auto& o) { o.checksum = BinlogChecksum::None; })},
        Variant{"RowImageMinimal", with([](auto& o) { o.row_image = RowImage::Minimal; })},
        Variant{"RowImageNoBlob", with([](auto& o) { o.row_image = RowImage::NoBlob; })},
        Variant{"RowMetadataFull", with([](auto& o) { o.row_metadata = RowMetadata::Full; })},
        Variant{"CompressOn", with([](auto& o) { o.compress = true; })}),
    [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// The API, on one server shared by the suite. It starts in the first SetUp() rather than in
// SetUpTestSuite(): gtest reports a throw there as skipped tests, which ctest counts as skips.
// ---------------------------------------------------------------------------------------------
class HarnessApi : public ::testing::Test {
protected:
  static void TearDownTestSuite() { s_server.reset(); }
  void SetUp() override {
    BINWATCH_REQUIRE_MARIADB();
    if (!s_server) s_server = std::make_unique<MariadbServer>();
  }
  static std::unique_ptr<MariadbServer> s_server;
};
std::unique_ptr<MariadbServer> HarnessApi::s_server;

TEST_F(HarnessApi, QueryReturnsTextNullsAndBinaryOfTheLastResultSet) {
  const auto rows = s_server->query(
      "SET @a = 1; SELECT 1; SELECT @a + 1, NULL, X'00FF00', 'é' UNION ALL SELECT 3, 'x', '', ''");
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 4u);
  EXPECT_EQ(rows[0][0], "2");
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_EQ(rows[0][2], std::string("\0\xff\0", 3));
  EXPECT_EQ(rows[0][3], "é");
  EXPECT_EQ(rows[1][1], "x");
  EXPECT_TRUE(s_server->query("DO 1").empty());
}

TEST_F(HarnessApi, ExecRunsMultipleStatementsAndThrowsWithServerTextAndSql) {
  s_server->exec("CREATE DATABASE IF NOT EXISTS api; CREATE TABLE api.t (id INT PRIMARY KEY);"
                 "INSERT INTO api.t VALUES (1), (2)");
  EXPECT_EQ(s_server->query("SELECT COUNT(*) FROM api.t")[0][0], "2");
  try {
    s_server->exec("INSERT INTO api.t VALUES (3); INSERT INTO api.t VALUES (1)");
    FAIL() << "a duplicate key must throw";
  } catch (const SqlError& e) {
    EXPECT_EQ(e.code(), 1062u);
    EXPECT_EQ(e.sqlstate(), "23000");
    const std::string what = e.what();
    EXPECT_NE(what.find("Duplicate entry '1'"), std::string::npos) << what;
    EXPECT_NE(what.find("statement 2"), std::string::npos) << what;
    EXPECT_NE(what.find("INSERT INTO api.t VALUES (1)"), std::string::npos) << what;
  }
  EXPECT_THROW(s_server->exec("SELEC 1"), std::runtime_error);
  EXPECT_THROW(s_server->variable("no_such_variable"), SqlError);
  EXPECT_THROW(s_server->variable("port; DROP DATABASE api"), std::invalid_argument);
  // The connection stays usable after errors.
  EXPECT_EQ(s_server->query("SELECT COUNT(*) FROM api.t")[0][0], "3");
}

TEST_F(HarnessApi, BinlogFilesAreFullPathsInOrderAndGrow) {
  const auto before = s_server->binlog_files();
  s_server->flush_binary_logs();
  s_server->flush_binary_logs();
  const auto after = s_server->binlog_files();
  ASSERT_EQ(after.size(), before.size() + 2);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].parent_path(), s_server->binlog_dir());
    EXPECT_TRUE(fs::is_regular_file(after[i])) << after[i];
    if (i > 0) {
      EXPECT_LT(after[i - 1].filename(), after[i].filename());
    }
  }
  const auto size = fs::file_size(after.back());
  s_server->exec("CREATE DATABASE IF NOT EXISTS api; CREATE TABLE IF NOT EXISTS api.g (v TEXT);"
                 "INSERT INTO api.g VALUES (REPEAT('x', 5000))");
  EXPECT_GT(fs::file_size(after.back()), size + 5000);
}

TEST_F(HarnessApi, ConnectGivesAnIndependentRootConnection) {
  auto connection = s_server->connect();
  ASSERT_EQ(mysql_query(connection.get(), "SELECT CURRENT_USER()"), 0) << mysql_error(connection.get());
  MYSQL_RES* result = mysql_store_result(connection.get());
  ASSERT_NE(result, nullptr);
  MYSQL_ROW row = mysql_fetch_row(result);
  ASSERT_NE(row, nullptr);
  EXPECT_STREQ(row[0], "root@localhost");
  mysql_free_result(result);
}

TEST_F(HarnessApi, RootCanConnectOverTcpWithoutPassword) {
  const CommandResult result =
      run_command({"mariadb", "--no-defaults", "--user=root", "--host=127.0.0.1",
                   "--port=" + std::to_string(s_server->port()), "--batch", "--skip-column-names",
                   "--execute=SELECT 40 + 2"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "42\n");
}

TEST_F(HarnessApi, AForkedChildExitingDoesNotTouchTheParentsServer) {
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) std::exit(0);  // runs the child's atexit cleanup, which must skip our server
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(process_alive(s_server->pid()));
  EXPECT_TRUE(fs::exists(s_server->dir()));
  EXPECT_EQ(s_server->query("SELECT 1")[0][0], "1");
}

// ---------------------------------------------------------------------------------------------
// Options beyond the variants.
// ---------------------------------------------------------------------------------------------
TEST(HarnessOptions, MaxBinlogSizeExtraAndExternalBinlogDir) {
  BINWATCH_REQUIRE_MARIADB();
  std::string pattern = (fs::temp_directory_path() / "binwatch-binlogs-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path binlog_dir = pattern;
  {
    MariadbServer server({.max_binlog_size = 8192,
                          .binlog_dir = binlog_dir,
                          .extra = {"binlog_annotate_row_events=OFF", "max_allowed_packet=8M"}});
    EXPECT_EQ(server.binlog_dir(), binlog_dir);
    EXPECT_EQ(server.variable("max_binlog_size"), "8192");
    EXPECT_EQ(server.variable("binlog_annotate_row_events"), "0");
    EXPECT_EQ(server.variable("max_allowed_packet"), "8388608");
    EXPECT_EQ(server.variable("log_bin_basename"), (binlog_dir / "mariadb-bin").string());
    server.exec("CREATE DATABASE o; USE o; CREATE TABLE t (id INT PRIMARY KEY, v TEXT);"
                "INSERT INTO t SELECT seq, REPEAT('y', 1000) FROM seq_1_to_10;"
                "INSERT INTO t SELECT seq, REPEAT('y', 1000) FROM seq_11_to_20;"
                "INSERT INTO t SELECT seq, REPEAT('y', 1000) FROM seq_21_to_30");
    const auto files = server.binlog_files();
    EXPECT_GE(files.size(), 3u) << "8 KB files should have rotated";
    for (const auto& file : files) EXPECT_EQ(file.parent_path(), binlog_dir);
  }
  // A binlog dir the caller made survives, emptied of the server's files.
  EXPECT_TRUE(fs::is_directory(binlog_dir));
  EXPECT_TRUE(fs::is_empty(binlog_dir));
  fs::remove_all(binlog_dir);
}

// ---------------------------------------------------------------------------------------------
// Nothing is left behind when the test process dies. Each case runs a server in a forked child,
// learns its PID and directory through a pipe, ends the child and looks.
// ---------------------------------------------------------------------------------------------
struct ChildServer {
  pid_t child = -1;
  pid_t server = -1;
  fs::path dir;
};

// In the child: start a server, report "PID DIR\n", then `then()` (which should not return).
template <typename Then>
ChildServer start_in_child(Then then) {
  int fds[2];
  if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t child = fork();
  if (child == -1) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    close(fds[0]);
    std::string line = "error\n";
    MariadbServer* server = nullptr;
    try {
      server = new MariadbServer();  // owned by whatever ends this process
      line = std::to_string(server->pid()) + " " + server->dir().string() + "\n";
    } catch (const std::exception& e) {
      line = std::string("error ") + e.what() + "\n";
    }
    (void)!write(fds[1], line.data(), line.size());
    close(fds[1]);
    if (server) then();
    _exit(3);
  }
  close(fds[1]);
  std::string line;
  pollfd pfd{fds[0], POLLIN, 0};
  char buf[1024];
  while (line.find('\n') == std::string::npos && poll(&pfd, 1, 90000) == 1) {
    const ssize_t got = read(fds[0], buf, sizeof buf);
    if (got <= 0) break;
    line.append(buf, static_cast<std::size_t>(got));
  }
  close(fds[0]);
  ChildServer result;
  result.child = child;
  std::istringstream in(line);
  std::string dir;
  if (!(in >> result.server >> dir)) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    throw std::runtime_error("child could not start a server: " + line);
  }
  result.dir = dir;
  return result;
}

void expect_cleaned_up(const ChildServer& c, std::chrono::milliseconds limit) {
  EXPECT_TRUE(eventually([&] { return !process_alive(c.server); }, limit)) << "mariadbd " << c.server << " still runs";
  EXPECT_TRUE(eventually([&] { return !fs::exists(c.dir); }, limit)) << c.dir << " still exists";
  if (process_alive(c.server)) kill(c.server, SIGKILL);  // do not leak it even when failing
}

TEST(HarnessCleanup, SigtermKillsTheServerAndRemovesItsDir) {
  BINWATCH_REQUIRE_MARIADB();
  const ChildServer c = start_in_child([] { for (;;) pause(); });
  ASSERT_TRUE(process_alive(c.server));
  ASSERT_TRUE(fs::exists(c.dir));
  kill(c.child, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(c.child, &status, 0), c.child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  // The handler finished its work before the child died.
  expect_cleaned_up(c, 500ms);
}

TEST(HarnessCleanup, ExitWithoutDestructorKillsTheServerAndRemovesItsDir) {
  BINWATCH_REQUIRE_MARIADB();
  const ChildServer c = start_in_child([] { std::exit(0); });
  int status = 0;
  ASSERT_EQ(waitpid(c.child, &status, 0), c.child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  expect_cleaned_up(c, 500ms);
}

TEST(HarnessCleanup, SigkillLeavesItToTheWatchdog) {
  BINWATCH_REQUIRE_MARIADB();
  const ChildServer c = start_in_child([] { for (;;) pause(); });
  kill(c.child, SIGKILL);
  ASSERT_EQ(waitpid(c.child, nullptr, 0), c.child);
  // The watchdog polls once a second, then shuts the server down.
  expect_cleaned_up(c, 10s);
}

}  // namespace
}  // namespace binwatch::test
