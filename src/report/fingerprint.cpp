#include "binwatch/fingerprint.h"

#include <cctype>

namespace binwatch {

namespace {

bool ident_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

// Collapses "(?,?,...)" after IN and the tuples after VALUES into "(?+)". `s` is already
// normalized: no space after '(' or before ')' or around ','.
std::string collapse_lists(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  auto is_list_at = [&](size_t p, size_t* end) {  // "(?,?,...,?)" at p
    if (p >= s.size() || s[p] != '(') return false;
    size_t q = p + 1;
    while (true) {
      if (q >= s.size() || s[q] != '?') return false;
      ++q;
      if (q < s.size() && s[q] == ')') { *end = q + 1; return true; }
      if (q >= s.size() || s[q] != ',') return false;
      ++q;
    }
  };
  auto ends_with_word = [&](std::string_view word) {
    size_t n = out.size();
    while (n > 0 && out[n - 1] == ' ') --n;
    if (n < word.size() || std::string_view(out).substr(n - word.size(), word.size()) != word) return false;
    return n == word.size() || !ident_char(out[n - word.size() - 1]);
  };
  while (i < s.size()) {
    size_t end = 0;
    if (s[i] == '(' && is_list_at(i, &end)) {
      if (ends_with_word("in")) {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += "(?+)";
        i = end;
        continue;
      }
      if (ends_with_word("values") || ends_with_word("value")) {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += "(?+)";
        i = end;
        // Further tuples: ",(?,...)" repeated.
        while (i < s.size() && s[i] == ',' && is_list_at(i + 1, &end)) i = end;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

}  // namespace

std::string fingerprint(std::string_view q) {
  std::string out;
  out.reserve(q.size());
  bool pending_space = false;
  auto emit = [&](char c) {
    if (pending_space && !out.empty()) {
      const char prev = out.back();
      const bool tight = prev == '(' || prev == ',' || c == ')' || c == ',';
      if (!tight) out += ' ';
    }
    pending_space = false;
    out += c;
  };
  size_t i = 0;
  const size_t n = q.size();
  while (i < n) {
    const char c = q[i];
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      pending_space = true;
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && q[i + 1] == '*') {  // comment, including /*! ... */ hints
      const size_t end = q.find("*/", i + 2);
      i = end == std::string_view::npos ? n : end + 2;
      pending_space = true;
      continue;
    }
    if ((c == '-' && i + 2 < n && q[i + 1] == '-' && (q[i + 2] == ' ' || q[i + 2] == '\t')) || c == '#') {
      const size_t end = q.find('\n', i);
      i = end == std::string_view::npos ? n : end + 1;
      pending_space = true;
      continue;
    }
    if (c == '\'' || c == '"') {  // string literal (backslash escapes and doubled quotes)
      ++i;
      while (i < n) {
        if (q[i] == '\\') {
          i += 2;
          continue;
        }
        if (q[i] == c) {
          if (i + 1 < n && q[i + 1] == c) {
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        ++i;
      }
      emit('?');
      continue;
    }
    if (c == '`') {  // quoted identifier, kept (case folded like the rest)
      const size_t end = q.find('`', i + 1);
      const size_t stop = end == std::string_view::npos ? n : end + 1;
      for (size_t k = i; k < stop; ++k) emit(static_cast<char>(std::tolower(static_cast<unsigned char>(q[k]))));
      i = stop;
      continue;
    }
    const bool after_ident = !pending_space && !out.empty() && ident_char(out.back());
    const bool number_start =
        std::isdigit(u) || (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(q[i + 1])));
    if (number_start && !after_ident) {
      const size_t start = i;
      // A negative sign directly before a number after an operator or '(' belongs to it.
      if (!pending_space && !out.empty() && out.back() == '-') {
        const size_t before = out.size() >= 2 ? out.size() - 2 : std::string::npos;
        const char p = before == std::string::npos ? '(' : out[before];
        if (!ident_char(p) && p != ')' && p != '?') out.pop_back();
      }
      if (c == '0' && i + 1 < n && (q[i + 1] == 'x' || q[i + 1] == 'X' || q[i + 1] == 'b' || q[i + 1] == 'B')) {
        i += 2;
        while (i < n && std::isxdigit(static_cast<unsigned char>(q[i]))) ++i;
      } else {
        while (i < n && (std::isdigit(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
        if (i < n && (q[i] == 'e' || q[i] == 'E')) {
          size_t k = i + 1;
          if (k < n && (q[k] == '+' || q[k] == '-')) ++k;
          if (k < n && std::isdigit(static_cast<unsigned char>(q[k]))) {
            i = k;
            while (i < n && std::isdigit(static_cast<unsigned char>(q[i]))) ++i;
          }
        }
      }
      // 12abc is an identifier, not a number.
      if (c != '.' && i < n && ident_char(q[i]) && !std::isdigit(static_cast<unsigned char>(q[i]))) {
        while (i < n && ident_char(q[i])) ++i;
        for (size_t k = start; k < i; ++k) emit(static_cast<char>(std::tolower(static_cast<unsigned char>(q[k]))));
        continue;
      }
      emit('?');
      continue;
    }
    if (ident_char(c)) {
      const size_t start = i;
      while (i < n && ident_char(q[i])) ++i;
      std::string word;
      for (size_t k = start; k < i; ++k) word += static_cast<char>(std::tolower(static_cast<unsigned char>(q[k])));
      if (word == "null" || word == "true" || word == "false") {
        emit('?');
        continue;
      }
      for (char w : word) emit(w);
      continue;
    }
    emit(c);
    ++i;
  }
  std::string collapsed = collapse_lists(out);
  // "limit ?, ?" and "limit ? offset ?" read the same.
  for (const std::string_view from : {"limit ?,?", "limit ? offset ?"}) {
    for (size_t p = collapsed.find(from); p != std::string::npos; p = collapsed.find(from, p)) {
      collapsed.replace(p, from.size(), "limit ?");
    }
  }
  // "use db" names the database only.
  if (collapsed.starts_with("use ")) return "use ?";
  return collapsed;
}

}  // namespace binwatch
