// The HTML report in a real browser: headless Chromium (Debian `chromium`, offline) parses the
// SoundCloud-like page and takes a screenshot through scripts/html-screenshot.sh. Checks that the
// DOM Chromium built holds the charts' SVG elements, and that the PNG has the asked size and shows
// the charts: the largest table's colour covers a bar-sized area, the flag red is present.
// Skipped when chromium is not installed (scripts/install-deps.sh installs it).
#include "binwatch/report_html.h"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "report_html_sample.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kScript = fs::path(BINWATCH_SOURCE_DIR) / "scripts" / "html-screenshot.sh";

bool chromium_present() {
  const char* override_path = std::getenv("CHROMIUM");
  const std::string name = override_path && *override_path ? override_path : "chromium";
  return std::system(("command -v '" + name + "' >/dev/null 2>&1").c_str()) == 0;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "binwatch-html-test-XXXXXX").string();
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

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs a shell command (paths are our own temp dirs, quoted), returns stdout and the exit status.
std::string run(const std::string& command, int* status) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::array<char, 65536> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int raw = ::pclose(p);
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

size_t occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<std::array<uint8_t, 3>> rgb;  // row-major
};

// Minimal PNG decoder for what Chromium writes: 8-bit RGB or RGBA, not interlaced.
Image decode_png(const std::string& png) {
  static const char kSig[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 33 || png.compare(0, 8, kSig, 8) != 0) throw std::runtime_error("not a PNG");
  Image img;
  std::string idat;
  uint8_t depth = 0, colour = 0, interlace = 0;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    const uint32_t len = be32(png, pos);
    const std::string type = png.substr(pos + 4, 4);
    if (pos + 12 + len > png.size()) throw std::runtime_error("truncated chunk");
    if (type == "IHDR") {
      img.width = be32(png, pos + 8);
      img.height = be32(png, pos + 12);
      depth = uint8_t(png[pos + 16]);
      colour = uint8_t(png[pos + 17]);
      interlace = uint8_t(png[pos + 20]);
    } else if (type == "IDAT") {
      idat.append(png, pos + 8, len);
    }
    pos += 12 + len;
  }
  if (depth != 8 || (colour != 2 && colour != 6) || interlace != 0) throw std::runtime_error("unsupported PNG");
  const size_t bpp = colour == 6 ? 4 : 3, stride = size_t(img.width) * bpp;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (::uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    throw std::runtime_error("bad IDAT");
  }
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  img.rgb.reserve(size_t(img.width) * img.height);
  for (uint32_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw std::runtime_error("bad filter");
      }
      cur[x] = uint8_t(in[x] + pred);
    }
    for (uint32_t x = 0; x < img.width; ++x) img.rgb.push_back({cur[x * bpp], cur[x * bpp + 1], cur[x * bpp + 2]});
    std::swap(prev, cur);
  }
  return img;
}

size_t pixels_near(const Image& img, uint8_t r, uint8_t g, uint8_t b) {
  size_t n = 0;
  for (const auto& p : img.rgb) {
    if (std::abs(p[0] - r) <= 6 && std::abs(p[1] - g) <= 6 && std::abs(p[2] - b) <= 6) ++n;
  }
  return n;
}

class ReportHtmlChromium : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!chromium_present()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
    page_ = dir_.path() / "report.html";
    std::ofstream(page_) << report_html(test::soundcloud_report());
  }
  TempDir dir_;
  fs::path page_;
};

TEST_F(ReportHtmlChromium, ParsesTheChartsAsSvg) {
  int status = -1;
  const std::string dom = run("timeout 60 bash '" + kScript.string() + "' --dump-dom '" + page_.string() + "'", &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(dom.find("<title>binwatch report"), std::string::npos);
  EXPECT_EQ(occurrences(dom, "<svg"), 3u);
  EXPECT_EQ(occurrences(dom, "</svg>"), 3u);
  EXPECT_EQ(occurrences(dom, "<rect class=\"tbar\""), 10u);
  EXPECT_EQ(occurrences(dom, "<polygon class=\"area\""), 10u);
  EXPECT_EQ(occurrences(dom, "<rect class=\"cbar-after\""), 6u);
  EXPECT_NE(dom.find("<tr class=\"flag\">"), std::string::npos);
  EXPECT_EQ(dom.find("<script"), std::string::npos);
}

TEST_F(ReportHtmlChromium, ScreenshotShowsTheCharts) {
  const fs::path png = dir_.path() / "report.png";
  int status = -1;
  run("timeout 60 bash '" + kScript.string() + "' '" + page_.string() + "' '" + png.string() + "' 1280x2000", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(fs::exists(png));
  const std::string bytes = slurp(png);
  EXPECT_GT(bytes.size(), 40'000u) << "a page of charts compresses to more than a blank page";
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(be32(bytes, 16), 1280u);  // IHDR width
  EXPECT_EQ(be32(bytes, 20), 2000u);  // IHDR height
  const Image img = decode_png(bytes);
  ASSERT_EQ(img.rgb.size(), size_t(1280) * 2000);
  const size_t white = pixels_near(img, 255, 255, 255);
  EXPECT_LT(white, img.rgb.size() * 95 / 100) << "the page is not blank";
  // The biggest table's bar and area (#4e79a7) dominate: at least the 440x20 bar's worth.
  EXPECT_GT(pixels_near(img, 0x4e, 0x79, 0xa7), 440u * 20u);
  // The baseline alert's red (#b42318) shows above the fold.
  EXPECT_GT(pixels_near(img, 0xb4, 0x23, 0x18), 100u);
}

}  // namespace
}  // namespace binwatch
