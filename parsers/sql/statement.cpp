// Single-table DML classifier for pre-flight. Source of the grammar: MariaDB 10.11
// sql/sql_yacc.yy (rules `delete`, `single_multi`, `update`), MySQL 8.4 sql/sql_yacc.yy.
#include "binwatch/sql/statement.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <stdexcept>

namespace binwatch::sql {

namespace {

enum class Tok { Word, Quoted, String, Number, Punct, Bind, End };

struct Token {
  Tok kind = Tok::End;
  size_t begin = 0, end = 0;  // byte range in the text
  std::string value;          // words upper-cased; quoted identifiers unquoted; binds without ':'
};

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Tokenizes the whole text; comments and whitespace are dropped.
std::variant<std::vector<Token>, ParseError> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '#' || (c == '-' && i + 2 <= s.size() && s.substr(i, 2) == "--" &&
                     (i + 2 == s.size() || std::isspace(static_cast<unsigned char>(s[i + 2]))))) {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      auto e = s.find("*/", i + 2);
      if (e == std::string_view::npos) return ParseError{"unterminated /* comment"};
      i = e + 2;
      continue;
    }
    Token t;
    t.begin = i;
    if (c == '\'' || c == '"' || c == '`') {
      const char q = c;
      std::string v;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        if (q != '`' && s[j] == '\\' && j + 1 < s.size()) { v += s[j + 1]; j += 2; continue; }
        if (s[j] == q) {
          if (j + 1 < s.size() && s[j + 1] == q) { v += q; j += 2; continue; }
          closed = true;
          ++j;
          break;
        }
        v += s[j++];
      }
      if (!closed) return ParseError{std::string("unterminated ") + q + " quote"};
      t.kind = q == '`' ? Tok::Quoted : Tok::String;
      t.value = std::move(v);
      t.end = j;
      i = j;
    } else if (c == ':' && i + 1 < s.size() && ident_char(s[i + 1]) &&
               !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      size_t j = i + 1;
      while (j < s.size() && ident_char(s[j])) ++j;
      t.kind = Tok::Bind;
      t.value = std::string(s.substr(i + 1, j - i - 1));
      t.end = j;
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (ident_char(s[j]) || s[j] == '.')) ++j;
      t.kind = Tok::Number;
      t.value = std::string(s.substr(i, j - i));
      t.end = j;
      i = j;
    } else if (ident_char(c)) {
      size_t j = i;
      while (j < s.size() && ident_char(s[j])) ++j;
      t.kind = Tok::Word;
      t.value = std::string(s.substr(i, j - i));
      std::transform(t.value.begin(), t.value.end(), t.value.begin(),
                     [](unsigned char ch) { return std::toupper(ch); });
      t.end = j;
      i = j;
    } else {
      t.kind = Tok::Punct;
      // Two-character operators matter only for not splitting them; keep single chars.
      t.value = std::string(1, c);
      t.end = i + 1;
      ++i;
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.begin = end.end = s.size();
  out.push_back(end);
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> toks) : m_text(text), m_t(std::move(toks)) {}

  std::variant<Dml, ParseError> run() {
    Dml d;
    if (word("WITH")) return err("WITH (common table expressions) is not supported: give the "
                                 "single-table DELETE or UPDATE itself");
    if (accept("DELETE")) {
      d.kind = DmlKind::Delete;
      while (accept("LOW_PRIORITY") || accept("QUICK") || accept("IGNORE")) {}
      if (!accept("FROM")) {
        return err("multi-table DELETE (DELETE t1[, t2] FROM ... JOIN ...) is not supported: "
                   "preflight estimates single-table jobs; describe each table's part as its own "
                   "job, or the child rows with --per-row");
      }
      if (auto e = table_name(d)) return *e;
      if (punct(",") || word("USING") || word("JOIN") || word("INNER") || word("LEFT") ||
          word("STRAIGHT_JOIN") || word("NATURAL") || word("CROSS")) {
        return err("multi-table DELETE (FROM t1, t2 / USING / JOIN) is not supported: preflight "
                   "estimates single-table jobs");
      }
      if (word("AS") || (cur().kind == Tok::Word && !is_clause(cur().value))) {
        return err("table aliases in DELETE are not supported; refer to columns without an alias");
      }
      if (word("PARTITION")) return err("DELETE ... PARTITION (...) is not supported");
    } else if (accept("UPDATE")) {
      d.kind = DmlKind::Update;
      while (accept("LOW_PRIORITY") || accept("IGNORE")) {}
      if (auto e = table_name(d)) return *e;
      if (punct(",") || word("JOIN") || word("INNER") || word("LEFT") || word("RIGHT") ||
          word("STRAIGHT_JOIN") || word("NATURAL") || word("CROSS")) {
        return err("multi-table UPDATE (UPDATE t1, t2 / UPDATE t1 JOIN t2) is not supported: "
                   "preflight estimates single-table jobs; use --per-row for follow-up updates");
      }
      if (!accept("SET")) {
        if (cur().kind == Tok::Word || cur().kind == Tok::Quoted) {
          return err("table aliases or joins in UPDATE are not supported (expected SET after the "
                     "table name)");
        }
        return err("expected SET after the table name");
      }
      if (auto e = assignments(d)) return *e;
    } else {
      return err("only DELETE and UPDATE statements can be estimated");
    }
    // Optional WHERE, ORDER BY, LIMIT, in this order, then an optional ';'.
    if (accept("WHERE")) {
      const size_t b = cur().begin;
      const size_t e = until_clause({"ORDER", "LIMIT", "RETURNING"});
      d.where = trim(m_text.substr(b, e - b));
      if (d.where.empty()) return err("empty WHERE condition");
    }
    if (accept("ORDER")) {
      if (!accept("BY")) return err("expected BY after ORDER");
      const size_t b = cur().begin;
      const size_t e = until_clause({"LIMIT", "RETURNING"});
      d.order_by = trim(m_text.substr(b, e - b));
    }
    if (accept("LIMIT")) {
      if (cur().kind != Tok::Number) return err("LIMIT needs a number");
      uint64_t n = 0;
      const auto& v = cur().value;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size()) return err("LIMIT needs a whole number");
      d.limit = n;
      next();
    }
    if (word("RETURNING")) return err("DELETE ... RETURNING is not supported");
    if (punct(";")) next();
    if (cur().kind != Tok::End) {
      return err("unexpected '" + std::string(m_text.substr(cur().begin, cur().end - cur().begin)) +
                 "' (a single statement is expected)");
    }
    return d;
  }

 private:
  const Token& cur() const { return m_t[m_pos]; }
  void next() {
    if (m_pos + 1 < m_t.size()) ++m_pos;
  }
  bool word(std::string_view w) const { return cur().kind == Tok::Word && cur().value == w; }
  bool punct(std::string_view p) const { return cur().kind == Tok::Punct && cur().value == p; }
  bool accept(std::string_view w) {
    if (!word(w)) return false;
    next();
    return true;
  }
  static bool is_clause(const std::string& w) {
    return w == "WHERE" || w == "ORDER" || w == "LIMIT" || w == "SET" || w == "RETURNING";
  }
  ParseError err(std::string m) const { return ParseError{std::move(m)}; }
  static std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    while (!s.empty() && s.back() == ';') {
      s.remove_suffix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    }
    return std::string(s);
  }

  std::optional<ParseError> identifier(std::string& out) {
    if (cur().kind == Tok::Word || cur().kind == Tok::Quoted) {
      out = cur().kind == Tok::Word
                ? std::string(m_text.substr(cur().begin, cur().end - cur().begin))
                : cur().value;
      next();
      return std::nullopt;
    }
    return err("expected a table or column name");
  }

  std::optional<ParseError> table_name(Dml& d) {
    std::string first;
    if (auto e = identifier(first)) return e;
    if (punct(".")) {
      next();
      d.schema = first;
      if (auto e = identifier(d.table)) return e;
    } else {
      d.table = first;
    }
    return std::nullopt;
  }

  // Position (byte offset) of the first top-level clause keyword from `stops` or of the end.
  size_t until_clause(std::initializer_list<std::string_view> stops) {
    int depth = 0;
    while (cur().kind != Tok::End) {
      if (punct("(")) ++depth;
      if (punct(")")) --depth;
      if (depth == 0 && punct(";")) break;
      if (depth == 0 && cur().kind == Tok::Word &&
          std::find(stops.begin(), stops.end(), cur().value) != stops.end()) {
        break;
      }
      next();
    }
    return cur().begin;
  }

  std::optional<ParseError> assignments(Dml& d) {
    for (;;) {
      Assignment a;
      std::string first;
      if (auto e = identifier(first)) return e;
      if (punct(".")) {  // t.col or db.t.col: keep the column
        next();
        if (auto e = identifier(first)) return e;
        if (punct(".")) {
          next();
          if (auto e = identifier(first)) return e;
        }
      }
      a.column = first;
      if (!punct("=")) return err("expected '=' after column " + a.column + " in SET");
      next();
      const size_t b = cur().begin;
      int depth = 0;
      while (cur().kind != Tok::End) {
        if (punct("(")) ++depth;
        if (punct(")")) --depth;
        if (depth == 0 && (punct(",") || punct(";") ||
                           (cur().kind == Tok::Word &&
                            (cur().value == "WHERE" || cur().value == "ORDER" ||
                             cur().value == "LIMIT")))) {
          break;
        }
        next();
      }
      a.expression = trim(m_text.substr(b, cur().begin - b));
      if (a.expression.empty()) return err("empty expression for column " + a.column + " in SET");
      d.assignments.push_back(std::move(a));
      if (!punct(",")) break;
      next();
    }
    return std::nullopt;
  }

  std::string_view m_text;
  std::vector<Token> m_t;
  size_t m_pos = 0;
};

}  // namespace

std::variant<Dml, ParseError> parse_dml(std::string_view text) {
  auto toks = tokenize(text);
  if (auto* e = std::get_if<ParseError>(&toks)) return *e;
  Parser p(text, std::move(std::get<std::vector<Token>>(toks)));
  return p.run();
}

std::variant<Insert, ParseError> parse_insert(std::string_view text) {
  auto toks_v = tokenize(text);
  if (auto* e = std::get_if<ParseError>(&toks_v)) return *e;
  const auto& t = std::get<std::vector<Token>>(toks_v);
  size_t i = 0;
  auto word = [&](std::string_view w) { return t[i].kind == Tok::Word && t[i].value == w; };
  auto punct = [&](std::string_view p) { return t[i].kind == Tok::Punct && t[i].value == p; };
  auto name = [&](std::string& out) {
    if (t[i].kind != Tok::Word && t[i].kind != Tok::Quoted) return false;
    out = t[i].kind == Tok::Word ? std::string(text.substr(t[i].begin, t[i].end - t[i].begin)) : t[i].value;
    ++i;
    return true;
  };
  Insert ins;
  if (!word("INSERT")) return ParseError{"not an INSERT"};
  ++i;
  while (word("IGNORE") || word("LOW_PRIORITY") || word("HIGH_PRIORITY") || word("DELAYED")) ++i;
  if (word("INTO")) ++i;
  std::string first;
  if (!name(first)) return ParseError{"expected a table name after INSERT INTO"};
  if (punct(".")) {
    ++i;
    ins.schema = first;
    if (!name(ins.table)) return ParseError{"expected a table name after the database"};
  } else {
    ins.table = first;
  }
  if (punct("(")) {
    ++i;
    for (;;) {
      std::string c;
      if (!name(c)) return ParseError{"expected a column name in the INSERT column list"};
      ins.columns.push_back(c);
      if (punct(",")) { ++i; continue; }
      if (punct(")")) { ++i; break; }
      return ParseError{"expected ',' or ')' in the INSERT column list"};
    }
  }
  if (!word("VALUES") && !word("VALUE")) return ParseError{"only INSERT ... VALUES (one row) is modelled"};
  ++i;
  if (!punct("(")) return ParseError{"expected '(' after VALUES"};
  ++i;
  int depth = 0;
  size_t b = t[i].begin;
  for (;; ++i) {
    if (t[i].kind == Tok::End) return ParseError{"unterminated VALUES list"};
    if (punct("(")) ++depth;
    if (depth == 0 && (punct(",") || punct(")"))) {
      std::string v(text.substr(b, t[i].begin - b));
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      if (v.empty()) return ParseError{"empty value in VALUES"};
      ins.values.push_back(v);
      if (punct(")")) { ++i; break; }
      b = t[i + 1].begin;
      continue;
    }
    if (punct(")")) --depth;
  }
  if (punct(";")) ++i;
  if (t[i].kind != Tok::End) return ParseError{"only a single-row INSERT ... VALUES is modelled"};
  if (!ins.columns.empty() && ins.columns.size() != ins.values.size()) {
    return ParseError{"INSERT names " + std::to_string(ins.columns.size()) + " columns but gives " +
                      std::to_string(ins.values.size()) + " values"};
  }
  return ins;
}

std::variant<std::string, ParseError> trigger_statement(std::string_view body) {
  auto toks_v = tokenize(body);
  if (auto* e = std::get_if<ParseError>(&toks_v)) return *e;
  const auto& t = std::get<std::vector<Token>>(toks_v);
  size_t first = 0, last = t.size() - 1;  // [first, last): the statement's tokens
  if (t[first].kind == Tok::Word && t[first].value == "BEGIN") {
    ++first;
    if (last == 0 || !(t[last - 1].kind == Tok::Word && t[last - 1].value == "END")) {
      return ParseError{"BEGIN without a final END"};
    }
    --last;
  }
  while (last > first && t[last - 1].kind == Tok::Punct && t[last - 1].value == ";") --last;
  if (first >= last) return ParseError{"empty trigger body"};
  const std::string& verb = t[first].value;
  if (t[first].kind != Tok::Word || (verb != "INSERT" && verb != "UPDATE" && verb != "DELETE")) {
    return ParseError{"the trigger body is not a single INSERT, UPDATE or DELETE"};
  }
  std::string out;
  size_t pos = t[first].begin;
  for (size_t i = first; i < last; ++i) {
    if (t[i].kind == Tok::Punct && t[i].value == ";") return ParseError{"the trigger body has several statements"};
    if (t[i].kind == Tok::Word && (t[i].value == "NEW") && i + 1 < last && t[i + 1].value == ".") {
      return ParseError{"the trigger body uses NEW.column"};
    }
    if (t[i].kind == Tok::Word && t[i].value == "OLD" && i + 2 < last && t[i + 1].kind == Tok::Punct &&
        t[i + 1].value == "." && (t[i + 2].kind == Tok::Word || t[i + 2].kind == Tok::Quoted)) {
      // The bind syntax `:name` takes identifier characters only and no leading digit: a quoted
      // name that is not such an identifier (OLD.`my-col`, OLD.`1st`) would be read back as
      // another bind (`:my`), so it is refused rather than mis-modelled.
      if (t[i + 2].kind == Tok::Quoted) {
        const std::string& q = t[i + 2].value;
        if (q.empty() || std::isdigit(static_cast<unsigned char>(q[0])) ||
            !std::all_of(q.begin(), q.end(), ident_char)) {
          return ParseError{"the trigger body uses OLD.`" + q + "`, a quoted column name that is not a plain identifier"};
        }
      }
      out.append(body.substr(pos, t[i].begin - pos));
      out += ":" + (t[i + 2].kind == Tok::Word ? std::string(body.substr(t[i + 2].begin, t[i + 2].end - t[i + 2].begin))
                                               : t[i + 2].value);
      pos = t[i + 2].end;
      i += 2;
    }
  }
  out.append(body.substr(pos, t[last - 1].end - pos));
  return out;
}

std::optional<std::string> acts_outside_transaction(std::string_view expression) {
  static constexpr std::string_view kRefused[] = {
      "SLEEP", "BENCHMARK", "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "MASTER_POS_WAIT",
      "MASTER_GTID_WAIT", "SOURCE_POS_WAIT", "WAIT_FOR_EXECUTED_GTID_SET",
      "WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS", "LOAD_FILE"};
  auto toks_v = tokenize(expression);
  if (auto* e = std::get_if<ParseError>(&toks_v)) return e->message;
  const auto& t = std::get<std::vector<Token>>(toks_v);
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].kind != Tok::Word || t[i + 1].kind != Tok::Punct || t[i + 1].value != "(") continue;
    if (std::find(std::begin(kRefused), std::end(kRefused), t[i].value) != std::end(kRefused)) {
      return "it calls " + t[i].value + "(), which waits or takes a lock even in a read-only transaction";
    }
  }
  return std::nullopt;
}

std::vector<std::string> bind_names(std::string_view text) {
  std::vector<std::string> out;
  auto toks = tokenize(text);
  if (auto* t = std::get_if<std::vector<Token>>(&toks)) {
    for (const auto& tok : *t) {
      if (tok.kind == Tok::Bind && std::find(out.begin(), out.end(), tok.value) == out.end()) {
        out.push_back(tok.value);
      }
    }
  }
  return out;
}

std::string substitute_binds(std::string_view text,
                             const std::map<std::string, std::string>& values) {
  auto toks = tokenize(text);
  if (auto* e = std::get_if<ParseError>(&toks)) throw std::invalid_argument(e->message);
  std::string out;
  size_t pos = 0;
  for (const auto& tok : std::get<std::vector<Token>>(toks)) {
    if (tok.kind != Tok::Bind) continue;
    out.append(text.substr(pos, tok.begin - pos));
    out += values.at(tok.value);
    pos = tok.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace binwatch::sql
