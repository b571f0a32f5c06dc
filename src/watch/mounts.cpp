#include "binwatch/watch/mounts.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace binwatch::watch {

namespace fs = std::filesystem;

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

fs::path existing(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  while (!p.empty() && !fs::exists(p, ec) && p != p.root_path()) p = p.parent_path();
  fs::path c = fs::canonical(p, ec);
  return ec ? p : c;
}

}  // namespace

std::string mount_point_of(const std::string& path) {
  const std::string p = existing(path).string();
  std::ifstream in("/proc/self/mountinfo");
  std::string line, best = "/";
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mp;
    if (!(f >> id >> parent >> devno >> root >> mp)) continue;
    mp = unescape_octal(mp);
    const bool under = p == mp || (p.starts_with(mp) && (mp == "/" || p[mp.size()] == '/'));
    if (under && mp.size() >= best.size()) best = mp;  // later (over-)mounts win at equal length
  }
  return best;
}

std::optional<DiskUsage> disk_usage(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return std::nullopt;
  const uint64_t f = s.f_frsize ? s.f_frsize : s.f_bsize;
  return DiskUsage{s.f_blocks * f, s.f_bavail * f, (s.f_blocks - s.f_bfree) * f};
}

std::vector<MountTarget> group_by_mount(const std::vector<RolePath>& paths,
                                        const std::vector<std::optional<uint64_t>>& reserves) {
  std::vector<MountTarget> out;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].path.empty()) continue;
    const std::string mp = mount_point_of(paths[i].path);
    auto it = std::find_if(out.begin(), out.end(), [&](const MountTarget& m) { return m.mount == mp; });
    if (it == out.end()) {
      out.push_back(MountTarget{mp, {}, std::nullopt, false});
      it = out.end() - 1;
    }
    if (!paths[i].role.empty() && std::find(it->roles.begin(), it->roles.end(), paths[i].role) == it->roles.end())
      it->roles.push_back(paths[i].role);
    if (paths[i].role == "binlog") it->holds_binlog = true;
    if (i < reserves.size() && reserves[i]) it->reserve = reserves[i];
  }
  return out;
}

}  // namespace binwatch::watch
