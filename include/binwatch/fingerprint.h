#pragma once
// Statement fingerprints as pt-query-digest makes them (Percona Toolkit, lib/QueryRewriter.pm
// `fingerprint`): comments dropped, case folded, string and number literals replaced by `?`,
// IN lists and VALUES tuples collapsed to `(?+)`, whitespace collapsed. Pure; never throws.
#include <string>
#include <string_view>

namespace binwatch {

std::string fingerprint(std::string_view statement);

}  // namespace binwatch
