#include "binwatch/watch/integrity.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "binwatch/watch/control_loop.h"

namespace binwatch::watch {

std::string_view integrity_kind_name(IntegrityKind kind) {
  switch (kind) {
    case IntegrityKind::Torn: return "torn";
    case IntegrityKind::Corrupt: return "corrupt";
    case IntegrityKind::TruncatedInMiddle: return "truncated-in-middle";
  }
  return "corrupt";
}

std::string integrity_cause(IntegrityKind kind, Damage damage) {
  switch (kind) {
    case IntegrityKind::Torn:
      return "binlog truncated in the middle of an event: the disk filled or the server crashed while writing";
    case IntegrityKind::TruncatedInMiddle:
      return "binlog truncated in the middle of an event and more events follow it: a write was cut short "
             "(disk full or crash) and writing went on after it, or the file was damaged later";
    case IntegrityKind::Corrupt:
      if (damage == Damage::Garbage)
        return "no valid event header here: the file was changed or damaged after it was written";
      return "checksum mismatch: the file was changed or damaged after it was written";
  }
  return {};
}

std::optional<IntegrityKind> integrity_kind_of(const ScanError& error) {
  switch (error.damage) {
    case Damage::None: return std::nullopt;
    case Damage::Checksum:
    case Damage::Garbage: return IntegrityKind::Corrupt;
    case Damage::CutShort: return IntegrityKind::TruncatedInMiddle;
  }
  return std::nullopt;
}

IntegrityTracker::IntegrityTracker(std::string file, uint64_t start)
    : m_file(std::move(file)), m_last_good(std::max<uint64_t>(start, 4)), m_frontier(m_last_good) {}

void IntegrityTracker::raise(IntegrityKind kind, uint64_t offset, uint64_t bytes, Damage damage, std::string detail) {
  IntegrityFinding f;
  f.file = m_file;
  f.offset = offset;
  f.bytes = bytes;
  f.kind = kind;
  // Damage right after other damage: the last good event is still the one before both.
  f.last_good = std::min(m_last_good, offset);
  f.cause = integrity_cause(kind, damage);
  f.detail = std::move(detail);
  f.detected_at = unix_seconds_now();
  m_new.push_back(std::move(f));
}

void IntegrityTracker::catch_up(const std::vector<ScanError>& errors) {
  // The attribution's errors may be cleared between files: start over then.
  if (errors.size() < m_seen_errors) m_seen_errors = 0;
  for (; m_seen_errors < errors.size(); ++m_seen_errors) {
    const ScanError& e = errors[m_seen_errors];
    m_last_error_damaged_event = false;
    const auto kind = integrity_kind_of(e);
    if (!kind) continue;
    m_last_error_damaged_event = true;
    m_last_error_offset = e.offset;
    m_frontier = std::max(m_frontier, e.offset + e.bytes);
    raise(*kind, e.offset, e.bytes, e.damage, e.detail);
  }
}

void IntegrityTracker::on_event(const ScanEvent& event, const std::vector<ScanError>& errors) {
  catch_up(errors);
  if (event.in_payload) return;  // pieces of a payload share its end
  // A damaged event the scanner still reports (a format description failing its CRC) is not good.
  const bool damaged = event.bucket == ScanEvent::Bucket::Corrupt && m_last_error_damaged_event &&
                       m_last_error_offset == event.offset;
  if (!damaged) m_last_good = std::max(m_last_good, event.end);
  m_frontier = std::max(m_frontier, event.end);
}

void IntegrityTracker::on_torn(const TornTail& tail) {
  raise(IntegrityKind::Torn, tail.offset, tail.bytes, Damage::None,
        "the file ends " + std::to_string(tail.bytes) + " bytes into an event");
  m_frontier = std::max(m_frontier, tail.offset + tail.bytes);
}

std::vector<IntegrityFinding> IntegrityTracker::take() { return std::exchange(m_new, {}); }

void IntegrityLog::add(IntegrityFinding finding) {
  ++counts[static_cast<size_t>(finding.kind)];
  findings.push_back(std::move(finding));
  while (findings.size() > kMaxFindings) {
    findings.pop_front();
    ++dropped;
  }
}

namespace {

class TrackingObserver : public ScanObserver {
 public:
  TrackingObserver(IntegrityTracker& tracker, const Attribution& attr) : m_tracker(tracker), m_attr(attr) {}
  void on_event(const ScanEvent& e) override { m_tracker.on_event(e, m_attr.errors); }

 private:
  IntegrityTracker& m_tracker;
  const Attribution& m_attr;
};

}  // namespace

std::vector<IntegrityFinding> check_binlog(ByteSource& source, const std::string& name) {
  IntegrityTracker tracker(name, 4);
  Attribution attr;
  TrackingObserver obs(tracker, attr);
  ScanOptions opt;
  opt.walk_rows = false;  // checksums and framing are what matter here
  opt.observer = &obs;
  const FileSummary summary = scan_binlog(source, attr, opt);
  tracker.catch_up(attr.errors);
  if (summary.torn_tail) tracker.on_torn(*summary.torn_tail);
  return tracker.take();
}

}  // namespace binwatch::watch
