// libFuzzer target for the pure text parsers: statement fingerprints (report --by statement),
// preflight's DML parser and bind substitution, and the report's datetime option parser. The
// first byte picks the parser. Any result is fine; crashes, hangs, UB and leaks are not.
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "binwatch/cli.h"
#include "binwatch/fingerprint.h"
#include "binwatch/sql/statement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: (void)binwatch::fingerprint(text); break;
    case 1: (void)binwatch::sql::parse_dml(text); break;
    case 2: {
      std::map<std::string, std::string> values;
      for (const auto& name : binwatch::sql::bind_names(text)) values[name] = "1";
      try {
        (void)binwatch::sql::substitute_binds(text, values);
      } catch (const std::invalid_argument&) {
        // documented: text that does not tokenize (unterminated string or comment)
      }
      break;
    }
    case 3: (void)binwatch::cli::parse_datetime(std::string(text)); break;
  }
  return 0;
}
