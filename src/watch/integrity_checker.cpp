#include "binwatch/watch/integrity_checker.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "binwatch/binlog_scanner.h"
#include "binwatch/watch/control_loop.h"

namespace binwatch::watch {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kSettleSeconds = 2;


// Reads no faster than a byte rate (sleeping between reads) and gives up at stop.
class ThrottledSource : public ByteSource {
 public:
  ThrottledSource(ByteSource& inner, uint64_t rate, std::function<void(uint64_t)> sleep_ms,
                  const std::atomic<bool>& stop)
      : m_inner(inner), m_rate(rate), m_sleep(std::move(sleep_ms)), m_stop(stop),
        m_began(std::chrono::steady_clock::now()) {}
  size_t read(std::byte* dst, size_t n) override {
    if (m_stop.load()) throw StopRequested{};
    const size_t got = m_inner.read(dst, n);
    m_read += got;
    // Where the read would be at the allowed rate; sleep off any advance.
    const double due_s = static_cast<double>(m_read) / static_cast<double>(m_rate);
    const double spent_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_began).count();
    if (due_s > spent_s) m_sleep(static_cast<uint64_t>((due_s - spent_s) * 1000));
    if (m_stop.load()) throw StopRequested{};
    return got;
  }
  [[nodiscard]] const std::string& name() const override { return m_inner.name(); }
  [[nodiscard]] std::optional<uint64_t> size() const override { return m_inner.size(); }
  [[nodiscard]] uint64_t bytes_read() const { return m_read; }

 private:
  ByteSource& m_inner;
  uint64_t m_rate;
  std::function<void(uint64_t)> m_sleep;
  const std::atomic<bool>& m_stop;
  std::chrono::steady_clock::time_point m_began;
  uint64_t m_read = 0;
};

}  // namespace

bool is_binlog_name(const std::string& name, const std::string& basename) {
  if (name.size() <= basename.size() + 1 || name.compare(0, basename.size(), basename) != 0 ||
      name[basename.size()] != '.')
    return false;
  for (size_t i = basename.size() + 1; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

CheckPlan plan_check(const std::string& name, bool listed, const Position& start) {
  CheckPlan p;
  p.served = listed;
  if (!listed) {
    p.check = true;  // a copy, or a file the server no longer lists: nobody else reads it
    return p;
  }
  if (name == start.file) {
    // The follower verifies from its start on; the bytes before it are the checker's.
    if (start.offset > 4) {
      p.check = true;
      p.limit = start.offset;
    }
    return p;
  }
  const auto mine = binlog_sequence(name), theirs = binlog_sequence(start.file);
  const bool older = mine && theirs ? *mine < *theirs : name < start.file;
  p.check = older || start.file.empty();
  return p;
}

IntegrityChecker::IntegrityChecker(IntegrityCheckerOptions options) : m_options(std::move(options)) {}

void IntegrityChecker::stop() {
  m_stop.store(true);
  std::lock_guard lock(m_mutex);
  m_cv.notify_all();
}

void IntegrityChecker::sleep_ms(uint64_t ms) {
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_stop.load(); });
}

std::shared_ptr<const IntegrityCheckerState> IntegrityChecker::snapshot() const {
  std::lock_guard lock(m_mutex);
  return m_state;
}

void IntegrityChecker::check_once() {
  const fs::path dir = m_options.index.parent_path();
  std::set<std::string> listed;
  std::string basename;
  for (const auto& path : read_binlog_index(m_options.index)) {
    const std::string name = fs::path(path).filename().string();
    listed.insert(name);
    if (basename.empty() && binlog_sequence(name)) basename = name.substr(0, name.rfind('.'));
  }
  if (basename.empty()) basename = m_options.index.stem().string();
  const Position start = m_options.follower_start ? m_options.follower_start() : Position{};

  auto state = std::make_shared<IntegrityCheckerState>(*snapshot());
  std::map<std::string, CheckedFile> before;
  for (auto& f : state->files) {
    std::string name = f.name;
    before.emplace(std::move(name), std::move(f));
  }
  state->files.clear();

  std::error_code ec;
  std::vector<std::string> names;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_binlog_name(name, basename)) names.push_back(name);
  }
  if (ec) spdlog::warn("integrity checker: cannot list {}: {}", dir.string(), ec.message());
  std::sort(names.begin(), names.end());

  for (const auto& name : names) {
    const CheckPlan plan = plan_check(name, listed.contains(name), start);
    if (!plan.check) continue;
    const std::string path = (dir / name).string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    CheckedFile f;
    f.name = name;
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime = static_cast<int64_t>(st.st_mtime);
    f.limit = plan.limit;
    f.served = plan.served;
    auto old = before.find(name);
    // A file still being copied or written: look again once it has settled.
    if (!f.limit && unix_seconds_now() - f.mtime < kSettleSeconds) {
      if (old != before.end()) state->files.push_back(std::move(old->second));
      continue;
    }
    // A limited check covers bytes that no longer change; a whole one is redone on any change.
    const bool unchanged = old != before.end() && old->second.limit == f.limit && old->second.served == f.served &&
                           (f.limit || (old->second.size == f.size && old->second.mtime == f.mtime));
    if (unchanged) {
      state->files.push_back(std::move(old->second));
      continue;
    }
    try {
      FileSource file(path);
      ThrottledSource throttled(file, m_options.max_read_bytes_per_second, [this](uint64_t ms) { sleep_ms(ms); },
                                m_stop);
      LimitedSource limited(throttled, f.limit.value_or(UINT64_MAX));
      auto found = check_binlog(limited, name);
      state->bytes_checked += throttled.bytes_read();
      ++state->files_checked;
      if (found.size() > kMaxFindingsPerFile) found.resize(kMaxFindingsPerFile);
      for (auto& finding : found) {
        finding.served = f.served;
        // Counted once per distinct finding of a file: a re-check of an unchanged damage is no news.
        bool known = false;
        if (old != before.end())
          for (const auto& prev : old->second.findings)
            known = known || (prev.offset == finding.offset && prev.kind == finding.kind);
        if (known) continue;
        ++state->counts[static_cast<size_t>(finding.kind)];
        spdlog::error("binlog integrity: {} {} at offset {} ({} bytes), last good position {}: {}{}", name,
                      integrity_kind_name(finding.kind), finding.offset, finding.bytes, finding.last_good,
                      finding.cause, f.served ? "" : " (a file the server does not list)");
      }
      f.findings = std::move(found);
    } catch (const StopRequested&) {
      throw;
    } catch (const std::exception& e) {
      f.error = e.what();
      if (old == before.end() || old->second.error != f.error) spdlog::warn("integrity checker: {}", f.error);
    }
    f.checked_at = unix_seconds_now();
    state->files.push_back(std::move(f));
  }
  state->last_pass = unix_seconds_now();
  std::lock_guard lock(m_mutex);
  m_state = std::move(state);
}

void IntegrityChecker::run() {
  while (!m_stop.load()) {
    try {
      check_once();
    } catch (const StopRequested&) {
      break;
    } catch (const std::exception& e) {
      spdlog::warn("integrity checker: {}", e.what());
    }
    sleep_ms(m_options.interval_ms);
  }
}

}  // namespace binwatch::watch
