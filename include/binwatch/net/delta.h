#pragma once
// `binwatch delta`: the numbers of a command's output compared with its previous run, in place.
// The alignment is a pure function (no clock, no process) so it is unit-tested on text pairs.
//
// How lines are paired: a line's *shape* is its text with every number replaced by '#' and runs
// of white space collapsed, so "  9 times the listen queue" and " 10 times the listen queue" have
// the same shape even when padding moved. The k-th line of a shape in the current output pairs
// with the k-th line of that shape in the previous one; the numbers of a pair line up by index.
// Lines without a partner (a new interface, a table border that grew) are printed unannotated.
//
// What is a number: a run of digits with at most one '.', optionally preceded by '-', not touching
// a letter, '_' or another digit group (so eth0, Ip6InReceives, 10.0.0.1 and 0x1f are text).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::net {

struct NumberToken {
  size_t pos = 0;   // byte offset in the line
  size_t len = 0;
  double value = 0;
  int decimals = 0;  // digits after '.'
};

std::vector<NumberToken> find_numbers(std::string_view line);
std::string line_shape(std::string_view line);

struct DeltaStyle {
  bool show_unchanged = false;  // annotate numbers that did not change ("[+0]")
  bool show_rate = true;
};

// The current output with each changed number followed by " [+DELTA RATE/s]". `seconds` is the
// time between the two runs (rates are omitted when it is not positive).
std::string annotate_delta(std::string_view previous, std::string_view current, double seconds,
                           const DeltaStyle& style = {});

// Rate text: 3 significant figures without trailing zeros ("40", "2.5", "0.333", "12345").
std::string format_rate(double per_second);

}  // namespace binwatch::net
