// /proc/modules parser; layout in include/binwatch/procfs/modules.h.
#include "binwatch/procfs/modules.h"

#include "text_util.h"

namespace binwatch::procfs {

ParseResult<std::vector<KernelModule>> parse_modules(std::string_view text) {
  std::vector<KernelModule> out;
  for (const auto& line : detail::split_lines(text)) {
    const auto f = detail::split_fields(line.text);
    if (f.empty()) continue;
    if (f.size() < 5) {
      return ParseError{line.number, 1,
                        "expected 'name size refcount deps state [address]', found " +
                            std::to_string(f.size()) + " fields"};
    }
    KernelModule m;
    m.name = std::string(f[0].text);
    int64_t size = 0;
    if (!detail::to_int64(f[1].text, size) || size < 0) {
      return ParseError{line.number, f[1].column, "module size is not an integer"};
    }
    m.size = static_cast<uint64_t>(size);
    if (f[2].text != "-" && !detail::to_int64(f[2].text, m.refcount)) {
      return ParseError{line.number, f[2].column, "module refcount is not an integer or '-'"};
    }
    if (f[3].text != "-") {
      std::string_view deps = f[3].text;
      while (!deps.empty()) {
        const size_t comma = deps.find(',');
        if (comma != 0) m.used_by.emplace_back(deps.substr(0, comma));
        if (comma == std::string_view::npos) break;
        deps.remove_prefix(comma + 1);
      }
    }
    m.state = std::string(f[4].text);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace binwatch::procfs
