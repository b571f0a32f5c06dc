#pragma once
// The follower's durable state: where counting started, the position up to which every byte is
// counted (always a transaction boundary), and the cumulative attribution of [start, position).
// Written atomically (tmp file, fsync, rename, fsync of the folder), so after kill -9 the daemon
// resumes at `position` with exactly the totals of the bytes before it: nothing lost, nothing
// counted twice.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "binwatch/attribution.h"
#include "binwatch/watch/binlog_feed.h"

namespace binwatch::watch {

struct Checkpoint {
  Position start;     // counting began here
  Position position;  // every byte of [start, position) is in totals
  Attribution totals;
  int64_t saved_at = 0;  // unix seconds
};

// The checkpoint file inside a state folder.
std::filesystem::path checkpoint_path(const std::filesystem::path& state_dir);
// nullopt when there is no checkpoint; throws std::runtime_error naming the file when it is
// unreadable or damaged (the daemon refuses to guess).
std::optional<Checkpoint> load_checkpoint(const std::filesystem::path& file);
// Atomic replace; throws std::runtime_error naming the file.
void save_checkpoint(const std::filesystem::path& file, const Checkpoint& checkpoint);

// JSON form of an attribution (also used by the status API).
std::string attribution_to_json(const Attribution& a);
Attribution attribution_from_json(const std::string& text);

}  // namespace binwatch::watch
