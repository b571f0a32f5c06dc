#pragma once
// Binlog integrity findings (issue 9): a torn, corrupt or cut-short event, located, with the last
// good position (the end of the last complete valid event before it) and the cause in plain words.
// In SoundCloud's outage the binlog partition filled, the last event was written half, and the
// replicas stopped with error 1236 "log event entry exceeded max_allowed_packet", which sent
// people after the wrong setting; recovery hinged on knowing the position just before the damage.
//
// Findings come from two places, both reading bytes the scanner already verifies:
//  * the follower (data plane): every file it follows, as it reads it;
//  * the integrity checker (control plane, integrity_checker.h): binlog files of the folder the
//    follower does not read (copies, files written while binwatch was down, history).
// IntegrityTracker turns one file's scan (its events and its errors as they appear) into findings;
// it is pure bookkeeping, no I/O.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/attribution.h"
#include "binwatch/binlog_scanner.h"

namespace binwatch::watch {

enum class IntegrityKind : uint8_t {
  Torn,               // the file ends inside an event (disk full or crash while writing)
  Corrupt,            // an event fails its checksum, or no event header can be read
  TruncatedInMiddle,  // an event is shorter than its header says and valid events follow it
};
inline constexpr IntegrityKind kIntegrityKinds[] = {IntegrityKind::Torn, IntegrityKind::Corrupt,
                                                    IntegrityKind::TruncatedInMiddle};

// "torn", "corrupt", "truncated-in-middle" (metric label and status field; stable).
std::string_view integrity_kind_name(IntegrityKind kind);

struct IntegrityFinding {
  std::string file;       // file name, no folder
  uint64_t offset = 0;    // first damaged byte (the start of the bad event)
  uint64_t bytes = 0;     // damaged bytes from there (torn tail, bad event, bytes skipped)
  IntegrityKind kind = IntegrityKind::Corrupt;
  uint64_t last_good = 0;  // end of the last complete valid event before `offset`
  std::string cause;       // plain language, for the operator
  std::string detail;      // the decoder's words
  bool active_file = false;  // torn tail of the file being written, incomplete past the grace period
  bool resolved = false;     // (active_file) the server completed the event later
  bool served = true;        // listed in the server's index: replicas may ask for it
  int64_t detected_at = 0;   // unix seconds
};

// The plain-language cause of a finding of `kind` (Garbage damage has its own wording).
std::string integrity_cause(IntegrityKind kind, Damage damage = Damage::None);

// The finding kind of a scanner error; nullopt for errors that are not damage (the event is whole
// and its checksum holds, the decoder could not read it).
std::optional<IntegrityKind> integrity_kind_of(const ScanError& error);

// Follows one file's scan. Feed it every ScanObserver event (before anything else looks at the
// event) with the errors list of the attribution being filled, and the torn tail at the end.
class IntegrityTracker {
 public:
  // `start`: the first offset scanned (4, or the resume offset of a partly read file).
  IntegrityTracker(std::string file, uint64_t start);
  void on_event(const ScanEvent& event, const std::vector<ScanError>& errors);
  // Turns errors added since the last call into findings (the end of the file, before a wait).
  void catch_up(const std::vector<ScanError>& errors);
  void on_torn(const TornTail& tail);
  // End of the bytes accounted for: complete events and damaged stretches.
  [[nodiscard]] uint64_t frontier() const { return m_frontier; }
  [[nodiscard]] uint64_t last_good() const { return m_last_good; }
  [[nodiscard]] const std::string& file() const { return m_file; }
  // Findings raised since the last call.
  std::vector<IntegrityFinding> take();

 private:
  void raise(IntegrityKind kind, uint64_t offset, uint64_t bytes, Damage damage, std::string detail);

  std::string m_file;
  uint64_t m_last_good;
  uint64_t m_frontier;
  size_t m_seen_errors = 0;
  bool m_last_error_damaged_event = false;
  uint64_t m_last_error_offset = 0;
  std::vector<IntegrityFinding> m_new;
};

// A bounded list of findings (newest last) with the number ever raised per kind.
struct IntegrityLog {
  static constexpr size_t kMaxFindings = 64;
  std::deque<IntegrityFinding> findings;
  uint64_t counts[3] = {};  // indexed by IntegrityKind
  uint64_t dropped = 0;     // findings pushed out of the list (still counted)

  void add(IntegrityFinding finding);
  [[nodiscard]] uint64_t count(IntegrityKind kind) const { return counts[static_cast<size_t>(kind)]; }
};

// Scans one whole binlog with checksum verification and returns its findings; a torn tail is a
// finding. Throws like scan_binlog (not a binlog, I/O).
std::vector<IntegrityFinding> check_binlog(ByteSource& source, const std::string& name);

}  // namespace binwatch::watch
