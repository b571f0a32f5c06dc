#pragma once
// The persisted alert outbox: the policy enqueues Notifications, the outbox makes sure each one
// reaches its receiver at least once.
//
// Durability. enqueue() returns only after the message is in the journal (STATE/outbox.journal,
// one fdatasync per call), so kill -9 at any moment loses nothing that was enqueued. A delivered
// message is removed by a journal record afterwards; a crash between the send and that record
// sends it again with the same id and dedup_key (harmless: receivers deduplicate on them).
// Opening recovers a torn last record (dropped: its enqueue never returned) and skips damaged
// lines (warnings, original kept as FILE.damaged); a file that is not an outbox is an error
// naming it. The journal is compacted (atomic rewrite) when it holds mostly finished records.
//
// Delivery, per receiver in enqueue order: storm control (delivery.h: at most rate_limit sends per
// window_s, excess folded into digests; Alertmanager batches), then the notifier. A retryable
// result waits a full-jitter exponential back-off (replication::backoff_delay, per attempt) or the
// receiver's Retry-After, whichever the receiver asked for; a permanent failure, or retrying for
// longer than give_up_after, moves the messages to the dead letters (kept for status, logged).
// After a delivered digest the receiver stays in storm mode for one window_s: what arrives
// meanwhile waits and goes out as the next digest, so a lasting storm is one message a window,
// not a digest plus a single for every slot the sliding window frees.
// group_wait_s holds a receiver's first fresh message that long so companions fold with it.
//
// Threads. One mutex guards the state and the journal: enqueue() (control plane) and the worker
// take it briefly (append + fsync); sends run outside it, one at a time (deliver_due() rounds are
// serialized), so a slow receiver delays the others by at most its timeout_ms per round. start()
// runs the worker thread; tests may instead call deliver_due() with an injected clock.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/alerts/notifier.h"

namespace binwatch::alerts {

class OutboxJournal;

struct OutboxOptions {
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{300000};
  std::chrono::milliseconds retry_after_max{3600000};  // a longer Retry-After is capped
  std::chrono::milliseconds give_up_after{std::chrono::hours(24)};  // since enqueue
  size_t dead_letters_kept = 200;
  std::function<int64_t()> clock;    // unix milliseconds; default: the system clock
  std::function<double()> random01;  // jitter in [0, 1); default: a seeded mt19937_64
};

struct DeadLetter {
  Notification notification;
  std::string reason;
  unsigned attempts = 0;
  int64_t at_ms = 0;
};

struct ReceiverStatus {
  std::string name;
  ReceiverType type = ReceiverType::Log;
  size_t pending = 0;
  uint64_t sends = 0;      // requests / command runs / log lines since start
  uint64_t delivered = 0;  // messages delivered since start (a digest counts all it folds)
  uint64_t digests = 0;    // sends that were digests
  uint64_t retries = 0;    // sends that got a retryable result
  uint64_t dead = 0;       // messages dead-lettered since start
  std::string last_error;
  int64_t last_error_ms = 0;
};

struct OutboxStatus {
  size_t pending = 0;
  std::vector<ReceiverStatus> receivers;
  std::vector<DeadLetter> dead_letters;  // oldest first, at most dead_letters_kept
  std::vector<std::string> warnings;     // from opening the journal
};
nlohmann::json to_json(const OutboxStatus& status);

class Outbox {
 public:
  // Opens (creating when absent) the journal and rewrites it compacted. Throws std::runtime_error
  // naming the file when it cannot be read or written or is not an outbox. Pending messages whose
  // receiver is not among `notifiers` are dead-lettered.
  Outbox(std::filesystem::path file, std::vector<std::unique_ptr<Notifier>> notifiers, OutboxOptions options = {});
  // Stops the worker (an ongoing send finishes first); undelivered messages stay in the journal.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Durable before it returns (one fsync for the whole span); throws std::runtime_error naming the
  // file when the journal cannot be written (then nothing of the span was enqueued). A message
  // whose (receiver, id) is already pending is ignored; one for an unknown receiver is
  // dead-lettered at once.
  void enqueue(const Notification& n);
  void enqueue(std::span<const Notification> ns);

  // One round at clock(): every receiver with a message due gets its sends (see storm control),
  // results are applied and journaled. Returns the number of sends. Thread-safe.
  size_t deliver_due();
  // When the next round has something to do (unix ms), nullopt when nothing is pending.
  [[nodiscard]] std::optional<int64_t> next_due_ms() const;

  void start();  // the worker thread: deliver_due() whenever something is due or enqueued
  void stop();
  // Waits (real time) until nothing is pending or the timeout passes; true when empty.
  bool wait_empty(std::chrono::milliseconds timeout);

  [[nodiscard]] std::vector<Notification> pending() const;  // enqueue order
  [[nodiscard]] std::vector<DeadLetter> dead_letters() const;
  [[nodiscard]] OutboxStatus status() const;
  [[nodiscard]] const std::vector<std::string>& warnings() const { return m_warnings; }

 private:
  struct Entry {
    Notification n;
    int64_t enqueued_ms = 0;
    int64_t next_ms = 0;  // due at; for a fresh message, enqueue + group_wait
    unsigned attempts = 0;
    std::string last_error;
    bool in_flight = false;
  };
  struct Receiver {
    std::unique_ptr<Notifier> notifier;
    RateWindow window;
    int64_t hold_until_ms = 0;  // after a digest: fold everything until then (one digest a window)
    ReceiverStatus stats;
  };
  struct Planned {
    Receiver* receiver;
    std::vector<uint64_t> seqs;
    Delivery delivery;
  };

  int64_t now() const;
  void replay(const std::vector<nlohmann::json>& records);
  std::vector<nlohmann::json> snapshot_locked() const;
  void write_locked(const std::vector<nlohmann::json>& records, bool sync);
  void compact_locked();
  void kill_locked(uint64_t seq, const std::string& reason, int64_t at_ms, std::vector<nlohmann::json>& records);
  void add_dead_locked(DeadLetter d);
  std::optional<int64_t> next_due_locked(int64_t now) const;
  std::vector<Planned> plan_locked(int64_t now);
  void apply_locked(Planned& p, const SendResult& r, int64_t now, std::vector<nlohmann::json>& records);
  void run_worker();

  std::filesystem::path m_file;
  OutboxOptions m_opt;
  std::map<std::string, Receiver> m_receivers;
  std::vector<std::string> m_warnings;

  mutable std::mutex m_mutex;  // everything below
  std::condition_variable m_cv;
  std::unique_ptr<OutboxJournal> m_journal;
  bool m_journal_broken = false;  // an append failed midway: rewrite before the next one
  std::map<uint64_t, Entry> m_pending;  // by seq = enqueue order
  std::map<std::pair<std::string, std::string>, uint64_t> m_by_id;  // (receiver, id) -> seq
  std::deque<DeadLetter> m_dead;
  uint64_t m_next_seq = 1;
  uint64_t m_rounds = 0;  // completed deliver_due() rounds (wakes wait_empty)
  bool m_stop = false;
  bool m_kick = false;

  std::mutex m_round_mutex;  // one deliver_due() at a time
  std::thread m_worker;
};

// The notifiers of configured receivers (make_notifier each; throws like it).
std::vector<std::unique_ptr<Notifier>> make_notifiers(const std::vector<ReceiverConfig>& receivers);
// STATE/outbox.journal
std::filesystem::path outbox_path(const std::filesystem::path& state_dir);

}  // namespace binwatch::alerts
