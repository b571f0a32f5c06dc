#include "binwatch/watch/follower.h"

#include <spdlog/spdlog.h>

#include "binwatch/binlog_scanner.h"

namespace binwatch::watch {

namespace {

// Tracks transaction boundaries from the scanner's begin/end marks: after an event that leaves
// no transaction open, every byte before its end belongs to complete transactions.
struct BoundaryTracker {
  bool in_trx = false;
  bool at_boundary = false;
  uint64_t boundary = 0;
  void on(const ScanEvent& e) {
    if (e.in_payload) return;  // payload pieces share the top-level event's end
    in_trx = (in_trx || e.begins_transaction) && !e.ends_transaction;
    at_boundary = !in_trx;
    if (!in_trx) boundary = e.end;
  }
};

// Reads at most `limit` bytes of a file (the pre-pass of start = "end" must not chase a growing file).
class LimitSource : public ByteSource {
 public:
  LimitSource(ByteSource& inner, uint64_t limit) : m_inner(inner), m_left(limit) {}
  size_t read(std::byte* dst, size_t n) override {
    n = static_cast<size_t>(std::min<uint64_t>(n, m_left));
    if (n == 0) return 0;
    const size_t got = m_inner.read(dst, n);
    m_left -= got;
    return got;
  }
  [[nodiscard]] const std::string& name() const override { return m_inner.name(); }

 private:
  ByteSource& m_inner;
  uint64_t m_left;
};

struct PrepassObserver : ScanObserver {
  BoundaryTracker tracker;
  void on_event(const ScanEvent& e) override { tracker.on(e); }
};

}  // namespace

uint64_t last_boundary(const std::string& path, uint64_t limit) {
  FileSource file(path);
  LimitSource limited(file, limit);
  PrepassObserver obs;
  Attribution scratch;
  ScanOptions opt;
  opt.verify_checksums = false;
  opt.walk_rows = false;
  opt.observer = &obs;
  if (limit < 4) return 0;
  scan_binlog(limited, scratch, opt);
  return obs.tracker.boundary == 0 ? 4 : obs.tracker.boundary;
}

class Follower::Observer : public ScanObserver {
 public:
  Observer(Follower& f, const std::string& file, const Attribution& attr, uint64_t resume_offset)
      : m_f(f), m_file(file), m_attr(attr), m_resume_offset(resume_offset) {}
  void on_event(const ScanEvent& e) override {
    m_tracker.on(e);
    if (e.timestamp) m_f.m_last_event_time = e.timestamp;
    if (!m_tracker.at_boundary || e.in_payload) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last_publish >= std::chrono::milliseconds(m_f.m_options.publish_interval_ms)) publish_now(now);
  }
  // Before the feed blocks: publish a boundary not yet published.
  void idle() {
    if (m_tracker.at_boundary && m_tracker.boundary != m_published_boundary)
      publish_now(std::chrono::steady_clock::now());
  }

 private:
  void publish_now(std::chrono::steady_clock::time_point now) {
    m_last_publish = now;
    m_published_boundary = m_tracker.boundary;
    m_f.publish(m_attr, m_resume_offset, Position{m_file, m_tracker.boundary});
  }

  Follower& m_f;
  std::string m_file;
  const Attribution& m_attr;
  uint64_t m_resume_offset;
  BoundaryTracker m_tracker;
  std::chrono::steady_clock::time_point m_last_publish{};
  uint64_t m_published_boundary = 0;
};

Follower::Follower(BinlogFeed& feed, Position start, Position resume, Attribution base, Options options)
    : m_feed(feed), m_start(std::move(start)), m_resume(std::move(resume)), m_base(std::move(base)),
      m_options(options) {
  auto s = std::make_shared<FollowerState>();
  s->start = m_start;
  s->position = m_resume;
  s->totals = m_base;
  s->published = std::chrono::steady_clock::now();
  m_snapshot = std::move(s);
}

std::shared_ptr<const FollowerState> Follower::snapshot() const {
  std::lock_guard lock(m_mutex);
  return m_snapshot;
}

std::optional<std::string> Follower::error() const {
  std::lock_guard lock(m_mutex);
  return m_error;
}

namespace {

// A file's attribution as it adds to the totals: when the file was resumed at an offset, its
// magic and the skipped bytes were counted before (or lie before the start).
Attribution adjusted(const Attribution& file_attr, uint64_t resume_offset) {
  Attribution a = file_attr;
  if (resume_offset > 0) a.other.magic = 0;
  a.other.excluded = 0;
  a.errors.clear();  // logged by the follower when the file ends
  a.total_bytes = 0;
  return a;
}

void recompute_total(Attribution& a) { a.total_bytes = a.table_bytes() + a.other.sum(); }

}  // namespace

void Follower::publish(const Attribution& file_attr, uint64_t resume_offset, const Position& at) {
  auto s = std::make_shared<FollowerState>();
  s->start = m_start;
  s->position = at;
  s->totals = m_base;
  s->totals.merge(adjusted(file_attr, resume_offset));
  recompute_total(s->totals);
  s->files_finished = m_files_finished;
  s->last_event_time = m_last_event_time;
  s->published = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(m_mutex);
    m_snapshot = std::move(s);
  }
  if (m_on_publish) m_on_publish();
}

void Follower::run() {
  m_running.store(true);
  try {
    FeedFile file = m_feed.open(m_resume);
    uint64_t offset = file.name == m_resume.file ? m_resume.offset : 0;
    if (file.name != m_resume.file) {
      spdlog::warn("checkpointed binlog {} is gone; resuming at the start of {} (its unread bytes are not counted)",
                   m_resume.file, file.name);
    }
    while (true) {
      Attribution file_attr;
      Observer observer(*this, file.name, file_attr, offset);
      m_feed.set_idle_hook([&observer] { observer.idle(); });
      ScanOptions opt;
      opt.observer = &observer;
      if (offset > 0) opt.filter.start_position = offset;
      spdlog::info("following {} from offset {}", file.name, offset);
      const FileSummary summary = scan_binlog(*file.source, file_attr, opt);
      m_feed.set_idle_hook({});
      if (summary.torn_tail)
        spdlog::warn("{}: torn last event at offset {} ({} bytes)", file.name, summary.torn_tail->offset,
                     summary.torn_tail->bytes);
      for (const auto& e : file_attr.errors) spdlog::warn("{}: offset {}: {}", e.file, e.offset, e.detail);
      file_attr.errors.clear();  // logged; the totals keep counts, not an unbounded error list
      m_base.merge(adjusted(file_attr, offset));
      recompute_total(m_base);
      ++m_files_finished;
      // The whole file is counted: resuming "at its end" moves on to the next file.
      publish(Attribution{}, 0, Position{file.name, summary.size});
      const std::string finished = file.name;
      file = m_feed.next(finished);
      const auto a = binlog_sequence(finished), b = binlog_sequence(file.name);
      if (a && b && *b > *a + 1)
        spdlog::warn("binlogs after {} up to {} were purged before they were read: their bytes are not counted",
                     finished, file.name);
      offset = 0;
    }
  } catch (const StopRequested&) {
    spdlog::info("follower stopped");
  } catch (const std::exception& e) {
    spdlog::error("follower: {}", e.what());
    std::lock_guard lock(m_mutex);
    m_error = e.what();
  }
  m_feed.set_idle_hook({});
  m_running.store(false);
}

}  // namespace binwatch::watch
