#include "binwatch/watch/follower.h"

#include <spdlog/spdlog.h>

#include "binwatch/binlog_scanner.h"
#include "binwatch/watch/control_loop.h"

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

struct PrepassObserver : ScanObserver {
  BoundaryTracker tracker;
  void on_event(const ScanEvent& e) override { tracker.on(e); }
};

}  // namespace

uint64_t last_boundary(const std::string& path, uint64_t limit) {
  FileSource file(path);
  LimitedSource limited(file, limit);
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
      : m_f(f), m_file(file), m_attr(attr), m_resume_offset(resume_offset), m_integrity(file, resume_offset) {}
  void on_event(const ScanEvent& e) override {
    m_integrity.on_event(e, m_attr.errors);
    flush_findings();
    if (m_tail && !e.in_payload && e.offset == m_tail->offset) {
      // The event the follower waited on is whole now.
      if (m_tail_raised) m_f.resolve_active(m_file, m_tail->offset);
      m_tail.reset();
      m_tail_raised = false;
      m_f.set_pending(std::nullopt);
    }
    m_tracker.on(e);
    if (e.timestamp) m_f.m_last_event_time = e.timestamp;
    if (!m_tracker.at_boundary || e.in_payload) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last_publish >= std::chrono::milliseconds(m_f.m_options.publish_interval_ms)) publish_now(now);
  }
  // Before the feed blocks: publish a boundary not yet published; watch an incomplete last event.
  void idle() {
    m_integrity.catch_up(m_attr.errors);
    flush_findings();
    watch_tail();
    if (m_tracker.at_boundary && m_tracker.boundary != m_published_boundary)
      publish_now(std::chrono::steady_clock::now());
  }
  // The end of the file: its errors and torn tail (the file is finished: a newer one exists).
  void finish(const FileSummary& summary) {
    m_integrity.catch_up(m_attr.errors);
    if (summary.torn_tail) m_integrity.on_torn(*summary.torn_tail);
    flush_findings();
    if (m_tail) m_f.set_pending(std::nullopt);
  }

 private:
  void publish_now(std::chrono::steady_clock::time_point now) {
    m_last_publish = now;
    m_published_boundary = m_tracker.boundary;
    m_f.publish(m_attr, m_resume_offset, Position{m_file, m_tracker.boundary});
  }
  void flush_findings() {
    auto found = m_integrity.take();
    if (!found.empty()) m_f.record(std::move(found));
  }
  // Bytes read past the last whole event while the feed waits: an incomplete event at the tail
  // of the active file. A finding only once it stayed unchanged for the grace period.
  void watch_tail() {
    const uint32_t grace = m_f.m_options.torn_grace_ms;
    if (grace == 0) return;
    const uint64_t read = m_f.m_input.load(std::memory_order_relaxed);
    const uint64_t frontier = m_integrity.frontier();
    const auto now = std::chrono::steady_clock::now();
    if (read <= frontier) {
      if (m_tail) m_f.set_pending(std::nullopt);
      m_tail.reset();
      m_tail_raised = false;
      return;
    }
    if (!m_tail || m_tail->offset != frontier || m_tail->bytes != read - frontier) {
      if (!m_tail || m_tail->offset != frontier) m_tail_raised = false;
      m_tail = PendingTail{m_file, frontier, read - frontier, now};
      m_f.set_pending(m_tail);
      return;
    }
    if (m_tail_raised || now - m_tail->since < std::chrono::milliseconds(grace)) return;
    m_tail_raised = true;
    IntegrityFinding f;
    f.file = m_file;
    f.offset = m_tail->offset;
    f.bytes = m_tail->bytes;
    f.kind = IntegrityKind::Torn;
    f.last_good = m_integrity.last_good();
    f.active_file = true;
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - m_tail->since).count();
    f.cause = integrity_cause(IntegrityKind::Torn) + " (the file is still the active one; this event has stayed "
              "incomplete for " + std::to_string(waited) + " s)";
    f.detail = "the last " + std::to_string(f.bytes) + " bytes of the file are an incomplete event";
    f.detected_at = unix_seconds_now();
    m_f.record({std::move(f)});
  }

  Follower& m_f;
  std::string m_file;
  const Attribution& m_attr;
  uint64_t m_resume_offset;
  BoundaryTracker m_tracker;
  IntegrityTracker m_integrity;
  std::optional<PendingTail> m_tail;
  bool m_tail_raised = false;
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

std::shared_ptr<const IntegrityLog> Follower::integrity() const {
  std::lock_guard lock(m_mutex);
  return m_integrity;
}

std::optional<Follower::PendingTail> Follower::pending_tail() const {
  std::lock_guard lock(m_mutex);
  return m_pending;
}

void Follower::set_pending(std::optional<PendingTail> tail) {
  std::lock_guard lock(m_mutex);
  m_pending = std::move(tail);
}

void Follower::record(std::vector<IntegrityFinding> findings) {
  auto log = std::make_shared<IntegrityLog>(*integrity());
  for (auto& f : findings) {
    spdlog::error("binlog integrity: {} {} at offset {} ({} bytes), last good position {}: {}", f.file,
                  integrity_kind_name(f.kind), f.offset, f.bytes, f.last_good, f.cause);
    // The torn tail of a file that was already raised while it was the active file: the same
    // finding, now of a finished file (counted once).
    bool known = false;
    for (auto& old : log->findings) {
      if (f.kind == IntegrityKind::Torn && old.kind == IntegrityKind::Torn && old.active_file && !f.active_file &&
          old.file == f.file && old.offset == f.offset) {
        old = f;
        known = true;
      }
    }
    if (!known) log->add(std::move(f));
  }
  std::lock_guard lock(m_mutex);
  m_integrity = std::move(log);
}

void Follower::resolve_active(const std::string& file, uint64_t offset) {
  auto log = std::make_shared<IntegrityLog>(*integrity());
  for (auto& f : log->findings)
    if (f.active_file && f.file == file && f.offset == offset) f.resolved = true;
  spdlog::info("binlog integrity: {}: the incomplete event at offset {} was completed by the server", file, offset);
  std::lock_guard lock(m_mutex);
  m_integrity = std::move(log);
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
      m_input.store(0, std::memory_order_relaxed);
      file.source->count_input_into(&m_input);
      ScanOptions opt;
      opt.observer = &observer;
      if (offset > 0) opt.filter.start_position = offset;
      spdlog::info("following {} from offset {}", file.name, offset);
      const FileSummary summary = scan_binlog(*file.source, file_attr, opt);
      m_feed.set_idle_hook({});
      observer.finish(summary);
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
