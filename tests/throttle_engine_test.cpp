// ThrottleEngine without a server: the bounds on what request URLs can grow (per-app check state
// and metrics).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/throttle_engine.h"

using binwatch::watch::MetricsWriter;
using binwatch::watch::ThrottleEngine;

namespace {

// A fresh state directory, removed afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// The app label of every binwatch_throttle_checks_total sample, with its value.
std::map<std::string, double> checks_by_app(const ThrottleEngine& e) {
  MetricsWriter w;
  e.write_metrics(w);
  std::map<std::string, double> out;
  const std::string& text = w.text();
  const std::string prefix = "binwatch_throttle_checks_total{app=\"";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const size_t b = at + prefix.size(), e2 = text.find('"', b);
    const size_t sp = text.find(' ', text.find('}', e2));
    out[text.substr(b, e2 - b)] += std::stod(text.substr(sp + 1, text.find('\n', sp) - sp - 1));
  }
  return out;
}

}  // namespace

TEST(ThrottleEngine, DistinctAppsAreCappedAndTheRestCountedAsOther) {
  TempDir dir("binwatch-throttle-engine");
  binwatch::watch::ThrottleSettings settings;
  ThrottleEngine e(settings, dir.path());
  binwatch::policy::ThrottleInputs in;
  in.free_percent = 90;
  in.time_to_full_s = 1e9;
  e.update(in, 1000);

  const size_t cap = ThrottleEngine::kMaxTrackedApps;
  const size_t extra = 44;
  for (size_t i = 0; i < cap + extra; ++i) EXPECT_EQ(e.check("app-" + std::to_string(i), 2000).status, 200);
  // A tracked app keeps its own series after the cap is reached.
  EXPECT_EQ(e.check("app-0", 2000).status, 200);

  auto by_app = checks_by_app(e);
  EXPECT_EQ(by_app.size(), cap + 1) << "the first apps by name, then \"_other\"";
  EXPECT_EQ(by_app["_other"], static_cast<double>(extra));
  EXPECT_EQ(by_app["app-0"], 2);
  EXPECT_EQ(by_app["app-255"], 1);
  EXPECT_EQ(by_app.count("app-256"), 0u);

  // Many more distinct names change nothing in size.
  for (size_t i = 0; i < 5000; ++i) e.check("flood-" + std::to_string(i), 3000);
  by_app = checks_by_app(e);
  EXPECT_EQ(by_app.size(), cap + 1);
  EXPECT_EQ(by_app["_other"], static_cast<double>(extra + 5000));
}

TEST(ThrottleEngine, AnUntrackedAppIsStillAnsweredAboutItself) {
  TempDir dir("binwatch-throttle-engine");
  const auto policy_file = dir.path() / "throttle.toml";
  std::ofstream(policy_file) << "[apps]\nforbidden = [\"reckless-*\"]\n[[level]]\nname = \"pause\"\n"
                                "free_below_percent = 10\ncooperative = \"pause\"\n";
  binwatch::watch::ThrottleSettings settings;
  settings.policy_file = policy_file.string();
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state);
  ThrottleEngine e(settings, state);
  binwatch::policy::ThrottleInputs in;
  in.free_percent = 90;
  e.update(in, 1000);
  for (size_t i = 0; i < ThrottleEngine::kMaxTrackedApps; ++i) e.check("app-" + std::to_string(i), 2000);
  // Over the cap: counted under _other, but the forbidden glob and operator throttles still see
  // the real name.
  EXPECT_EQ(e.check("reckless-purge", 2000).status, 417);
  e.throttle_app("slow-*", 10, 1.0, "test", 2000);
  EXPECT_EQ(e.check("slow-job", 2000).status, 429);
  EXPECT_EQ(e.check("other-job", 2000).status, 200);
  auto by_app = checks_by_app(e);
  EXPECT_EQ(by_app["_other"], 3);
  EXPECT_EQ(by_app.count("reckless-purge"), 0u);
}
