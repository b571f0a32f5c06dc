// Input conveniences of `binwatch report`: .gz and .zst archives decode to exactly the same
// report as the plain file, a binlog index expands to its files in order, standard input works,
// and a truncated archive is an error naming the file, never a torn binlog tail.
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "binwatch/byte_source.h"
#include "binwatch/report.h"
#include "support/test_bytes.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture =
    fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11/crc32-full-compressed";

class InputSources : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/binwatch-inputs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    for (const char* name : {"mariadb-bin.000001", "mariadb-bin.000002"}) {
      fs::copy_file(kFixture / name, m_dir / name);
    }
    m_plain = test::read_file(m_dir / "mariadb-bin.000001");
    ASSERT_FALSE(m_plain.empty());
  }
  void TearDown() override { fs::remove_all(m_dir); }

  fs::path write_gz(const std::string& name, size_t cut = SIZE_MAX) {
    const fs::path p = m_dir / name;
    gzFile gz = gzopen(p.c_str(), "wb6");
    EXPECT_NE(gz, nullptr);
    EXPECT_EQ(gzwrite(gz, m_plain.data(), static_cast<unsigned>(m_plain.size())),
              static_cast<int>(m_plain.size()));
    gzclose(gz);
    if (cut != SIZE_MAX) fs::resize_file(p, cut);
    return p;
  }

  fs::path write_zst(const std::string& name, size_t cut = SIZE_MAX) {
    std::vector<char> out(ZSTD_compressBound(m_plain.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), m_plain.data(), m_plain.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    const fs::path p = m_dir / name;
    std::ofstream(p, std::ios::binary).write(out.data(), static_cast<std::streamsize>(std::min(n, cut)));
    return p;
  }

  // The report's JSON with every view (as `--format json` writes it) without file paths (they
  // differ by design).
  static void strip_paths(nlohmann::ordered_json& j) {
    for (auto& f : j["files"]) f.erase("path");
    for (auto& t : j["transactions"]) t.erase("file"), t.erase("id");
  }
  static std::string normalized(const std::vector<std::string>& inputs) {
    ReportOptions options;
    options.views.statements = options.views.transactions = options.views.minutes = true;
    Report r = build_report(expand_inputs(inputs), options);
    r.show.column = r.show.statement = r.show.transaction = r.show.minute = r.show.type = true;
    auto j = report_json(r);
    strip_paths(j);
    return j.dump();
  }

  fs::path m_dir;
  std::vector<std::byte> m_plain;
};

TEST_F(InputSources, GzipAndZstdArchivesGiveTheSameReport) {
  const std::string plain = normalized({(m_dir / "mariadb-bin.000001").string()});
  EXPECT_EQ(normalized({write_gz("mariadb-bin.000001.gz").string()}), plain);
  EXPECT_EQ(normalized({write_zst("mariadb-bin.000001.zst").string()}), plain);
  EXPECT_NE(plain.find("\"total_bytes\":" + std::to_string(m_plain.size())), std::string::npos);
}

TEST_F(InputSources, TruncatedArchivesAreErrorsNamingTheFile) {
  for (const fs::path& p : {write_gz("cut.gz", 4000), write_zst("cut.zst", 4000)}) {
    try {
      (void)build_report({p.string()}, ReportOptions{});
      ADD_FAILURE() << p << " decoded without an error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
    }
  }
}

TEST_F(InputSources, IndexFileExpandsToItsFilesInOrder) {
  std::ofstream(m_dir / "mariadb-bin.index") << "./mariadb-bin.000001\n./mariadb-bin.000002\n";
  const auto expanded = expand_inputs({(m_dir / "mariadb-bin.index").string()});
  ASSERT_EQ(expanded.size(), 2u);
  EXPECT_EQ(fs::path(expanded[0]), m_dir / "mariadb-bin.000001");
  EXPECT_EQ(fs::path(expanded[1]), m_dir / "mariadb-bin.000002");
  EXPECT_EQ(normalized({(m_dir / "mariadb-bin.index").string()}),
            normalized({(m_dir / "mariadb-bin.000001").string(), (m_dir / "mariadb-bin.000002").string()}));
  std::ofstream(m_dir / "empty.index") << "\n";
  EXPECT_THROW(expand_inputs({(m_dir / "empty.index").string()}), std::runtime_error);
  EXPECT_THROW(expand_inputs({(m_dir / "missing.index").string()}), std::runtime_error);
}

TEST_F(InputSources, StandardInputIsAStreamWithoutKnownSize) {
  const std::string plain = normalized({(m_dir / "mariadb-bin.000001").string()});
  const std::string cmd = std::string(BINWATCH_EXE) + " report --format json - < " +
                          (m_dir / "mariadb-bin.000001").string() + " > " + (m_dir / "out.json").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto j = nlohmann::ordered_json::parse(test::read_text(m_dir / "out.json"));
  EXPECT_EQ(j["files"][0]["path"], "-");
  strip_paths(j);
  EXPECT_EQ(j.dump(), plain);
}

}  // namespace
}  // namespace binwatch
