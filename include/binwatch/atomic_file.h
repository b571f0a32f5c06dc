#pragma once
// Durable whole-file replacement for state files (checkpoint, alert outbox): after kill -9 or a
// power cut the file is either the old or the new content, never a mix.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace binwatch {

// FILE.tmp is written and fsynced, renamed over FILE, and FILE's folder is fsynced. Throws
// std::runtime_error naming the file and the failing step.
void write_file_atomically(const std::filesystem::path& file, std::string_view data, unsigned mode = 0640);
// write() until all of `data` is written (EINTR and short writes handled); false with errno set
// on failure.
bool write_all(int fd, std::string_view data);
// The whole content of a file; nullopt when it cannot be opened (the caller says which file and
// why it wanted it).
std::optional<std::string> read_whole_file(const std::filesystem::path& file);
// fsync of a folder (makes a rename or a new file in it durable). Throws std::runtime_error.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace binwatch
