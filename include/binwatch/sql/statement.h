#pragma once
// A small, pure classifier for the single-table DML that pre-flight estimates:
//   DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM [db.]t [WHERE cond] [ORDER BY ...] [LIMIT n]
//   UPDATE [LOW_PRIORITY] [IGNORE] [db.]t SET col = expr [, ...] [WHERE cond] [ORDER BY] [LIMIT n]
// Multi-table forms (DELETE t1 FROM ..., DELETE ... USING, UPDATE t1 JOIN t2 / UPDATE t1, t2,
// WITH ...) are recognised and refused with an explanation. Also the simple trigger bodies
// preflight models: one INSERT ... VALUES (one row), UPDATE or DELETE using OLD.columns. Expressions are not parsed: they are
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

// INSERT [IGNORE] [INTO] [db.]t [(c1, ...)] VALUE[S] (e1, ...): one row, expressions kept as text.
struct Insert {
  std::string schema, table;
  std::vector<std::string> columns;  // empty: all columns in table order
  std::vector<std::string> values;   // expression texts
};
std::variant<Insert, ParseError> parse_insert(std::string_view text);

// The body of a simple trigger (information_schema.TRIGGERS.ACTION_STATEMENT) as one statement
// with `OLD.col` written as the bind `:col`: a single statement, optionally inside BEGIN ... END.
// A ParseError says why it is not simple (several statements, IF/CALL/SET, NEW.col, ...).
std::variant<std::string, ParseError> trigger_statement(std::string_view action_statement);

// Why evaluating `expression` (as part of a SELECT) could act outside the read-only transaction
// it is evaluated in, or nullopt. The server refuses every write there (measured on MariaDB
// 10.11: stored functions writing InnoDB, MyISAM, Aria or temporary tables, NEXTVAL and SETVAL
// all fail with error 1792), but a few built-in functions wait or take locks regardless: SLEEP,
// BENCHMARK, GET_LOCK, RELEASE_LOCK, RELEASE_ALL_LOCKS, MASTER_POS_WAIT, MASTER_GTID_WAIT,
// SOURCE_POS_WAIT, WAIT_FOR_EXECUTED_GTID_SET, WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS, LOAD_FILE.
// Text that does not tokenize is refused too.
std::optional<std::string> acts_outside_transaction(std::string_view expression);

// Named binds `:name` outside strings, comments and quoted identifiers, in order of appearance,
// each name once.
std::vector<std::string> bind_names(std::string_view text);
// `text` with every `:name` replaced by values.at(name) (a ready SQL literal). Throws
// std::out_of_range for a bind without a value.
std::string substitute_binds(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace binwatch::sql
