#pragma once
// `binwatch report --format html`: one self-contained HTML page (inline CSS and SVG; no script,
// font, stylesheet or image is fetched) rendered from the report's JSON document
// (docs/report-json.md). A pure function of that document: the views that are absent are said to
// be "not computed", and every string from the binlogs is sanitised (invalid UTF-8 and control
// bytes shown as \xNN) and HTML-escaped, in text and in SVG alike.
#include <string>

#include <nlohmann/json.hpp>

namespace binwatch {

std::string report_html(const nlohmann::ordered_json& report);

}  // namespace binwatch
