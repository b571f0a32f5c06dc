#pragma once
// The integrity checker (control plane, its own thread): verifies the binlog files of the watched
// folder that the follower does not read -- a copy such as mariadb-bin.000099 next to the index,
// files written while binwatch was down and purged from the index since, files older than the
// follower's start -- once as they appear and again when their size or mtime changes. Each is read
// with scan_binlog (checksums verified, rows not walked) at no more than a configured byte rate,
// so it never competes with the server for the disk, and never on the data-plane thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/watch/binlog_feed.h"
#include "binwatch/watch/integrity.h"

namespace binwatch::watch {

// What the checker reads of one file of the folder.
struct CheckPlan {
  bool check = false;              // false: the follower reads it
  std::optional<uint64_t> limit;   // only the first bytes (the follower's start file before its start)
  bool served = false;             // listed in the index: replicas may ask the server for it
};
// `listed`: the index lists it; `start`: where the follower began (it verifies what follows).
CheckPlan plan_check(const std::string& name, bool listed, const Position& start);

// "<basename>.<digits>" (mariadb-bin.000042): a binlog file name of that base.
bool is_binlog_name(const std::string& name, const std::string& basename);

struct CheckedFile {
  std::string name;
  uint64_t size = 0;
  int64_t mtime = 0;
  std::optional<uint64_t> limit;
  bool served = false;
  std::vector<IntegrityFinding> findings;  // at most kMaxFindingsPerFile
  std::string error;                        // not a binlog, unreadable, encrypted
  int64_t checked_at = 0;                   // unix seconds
};

struct IntegrityCheckerState {
  std::vector<CheckedFile> files;  // by name
  uint64_t counts[3] = {};         // findings raised, by IntegrityKind (a re-check counts new ones only)
  uint64_t files_checked = 0;      // scans done
  uint64_t bytes_checked = 0;
  int64_t last_pass = 0;           // unix seconds of the last completed folder pass
};

struct IntegrityCheckerOptions {
  std::filesystem::path index;  // the server's binlog index; its folder is checked
  uint32_t interval_ms = 10000;
  uint64_t max_read_bytes_per_second = uint64_t{32} << 20;
  std::function<Position()> follower_start;  // where the follower began counting
};

class IntegrityChecker {
 public:
  static constexpr size_t kMaxFindingsPerFile = 16;
  explicit IntegrityChecker(IntegrityCheckerOptions options);
  // The thread body: a folder pass every interval until stop().
  void run();
  void stop();
  // One pass over the folder (tests call it directly). Throws StopRequested when stopped.
  void check_once();
  [[nodiscard]] std::shared_ptr<const IntegrityCheckerState> snapshot() const;

 private:
  void sleep_ms(uint64_t ms);

  IntegrityCheckerOptions m_options;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::shared_ptr<const IntegrityCheckerState> m_state = std::make_shared<IntegrityCheckerState>();
};

}  // namespace binwatch::watch
