#pragma once
// /proc/modules (kernel/module/procfs.c m_show):
//   "nf_conntrack 176128 3 nf_nat,nft_ct,xt_conntrack, Live 0x0000000000000000"
// | field    | meaning                                  |
// |----------|------------------------------------------|
// | name     | module name                              |
// | size     | bytes of the module image                |
// | refcount | users (or "-" when unloading isn't allowed)|
// | deps     | modules using it, comma-terminated, "-" for none |
// | state    | Live, Loading, Unloading                 |
// | address  | load address, optional taint flags after |
// A kernel built without module support has no /proc/modules at all (a built-in nf_conntrack is
// then visible only through /proc/sys/net/netfilter).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/procfs/parse_result.h"

namespace binwatch::procfs {

struct KernelModule {
  std::string name;
  uint64_t size = 0;
  int64_t refcount = -1;  // -1 when the kernel printed "-"
  std::vector<std::string> used_by;
  std::string state;
};

ParseResult<std::vector<KernelModule>> parse_modules(std::string_view text);

}  // namespace binwatch::procfs
