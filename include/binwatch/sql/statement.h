#pragma once
// A small, pure classifier for the single-table DML that pre-flight estimates:
//   DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM [db.]t [WHERE cond] [ORDER BY ...] [LIMIT n]
//   UPDATE [LOW_PRIORITY] [IGNORE] [db.]t SET col = expr [, ...] [WHERE cond] [ORDER BY] [LIMIT n]
// Multi-table forms (DELETE t1 FROM ..., DELETE ... USING, UPDATE t1 JOIN t2 / UPDATE t1, t2,
// WITH ...) are recognised and refused with an explanation. Expressions are not parsed: they are
// kept as the original text and evaluated by the server (that is what makes the estimate honest).
// Grammar followed: MariaDB 10.11 sql/sql_yacc.yy (delete, update rules).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace binwatch::sql {

enum class DmlKind { Delete, Update };

struct Assignment {
  std::string column;      // unquoted
  std::string expression;  // original text
};

struct Dml {
  DmlKind kind = DmlKind::Delete;
  std::string schema;  // empty when not qualified
  std::string table;
  std::vector<Assignment> assignments;  // UPDATE only
  std::string where;                    // original text without WHERE; empty = all rows
  std::string order_by;                 // original text without ORDER BY
  std::optional<uint64_t> limit;
};

struct ParseError {
  std::string message;
};

std::variant<Dml, ParseError> parse_dml(std::string_view text);

// Named binds `:name` outside strings, comments and quoted identifiers, in order of appearance,
// each name once.
std::vector<std::string> bind_names(std::string_view text);
// `text` with every `:name` replaced by values.at(name) (a ready SQL literal). Throws
// std::out_of_range for a bind without a value.
std::string substitute_binds(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace binwatch::sql
