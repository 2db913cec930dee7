// svg_chart: the output is well-formed XML whatever the labels hold, every
// coordinate is a finite number whatever the data (no series, one point, equal
// values, NaN), and every series and bar shows up.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "platform/svg_chart.h"

namespace edgelm {
namespace {

const std::string kNasty = "a<b & \"c\">'d'";
const std::string kNastyEscaped = "a&lt;b &amp; &quot;c&quot;&gt;&apos;d&apos;";

// Empty if `svg` is one <svg> element with balanced tags, quoted attributes,
// no raw '<' or '&' in text or attribute values, and no "nan" or "inf" in an
// attribute value; else what is wrong.
std::string xml_problem(const std::string& svg) {
  if (svg.rfind("<svg ", 0) != 0) return "does not start with <svg";
  std::vector<std::string> open;
  auto entity_ok = [&](size_t amp) {
    for (const char* e : {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"})
      if (svg.compare(amp, std::string(e).size(), e) == 0) return true;
    return false;
  };
  size_t i = 0;
  while (i < svg.size()) {
    if (svg[i] == '&' && !entity_ok(i)) return "raw & at byte " + std::to_string(i);
    if (svg[i] == '>') return "raw > in text at byte " + std::to_string(i);
    if (svg[i] != '<') {
      ++i;
      continue;
    }
    if (open.empty() && i > 0) return "content after the root element at byte " + std::to_string(i);
    size_t j = i + 1;
    bool closing = j < svg.size() && svg[j] == '/';
    if (closing) ++j;
    size_t name_end = j;
    while (name_end < svg.size() && (std::isalnum(uint8_t(svg[name_end])) || svg[name_end] == '-')) ++name_end;
    std::string name = svg.substr(j, name_end - j);
    if (name.empty()) return "tag without a name at byte " + std::to_string(i);
    // Attributes: name="value" pairs up to '>' or '/>'.
    size_t k = name_end;
    bool self_closing = false;
    for (;;) {
      while (k < svg.size() && svg[k] == ' ') ++k;
      if (k >= svg.size()) return "unterminated tag <" + name;
      if (svg[k] == '>') break;
      if (svg.compare(k, 2, "/>") == 0) {
        self_closing = true;
        ++k;
        break;
      }
      size_t eq = svg.find('=', k);
      if (eq == std::string::npos || svg[eq + 1] != '"') return "unquoted attribute in <" + name;
      size_t end = svg.find('"', eq + 2);
      if (end == std::string::npos) return "unterminated attribute in <" + name;
      std::string value = svg.substr(eq + 2, end - eq - 2);
      if (value.find('<') != std::string::npos) return "raw < in an attribute of <" + name;
      for (size_t a = value.find('&'); a != std::string::npos; a = value.find('&', a + 1))
        if (!entity_ok(eq + 2 + a)) return "raw & in an attribute of <" + name;
      std::string lower;
      for (char ch : value) lower += char(std::tolower(uint8_t(ch)));
      if (lower.find("nan") != std::string::npos || lower.find("inf") != std::string::npos)
        return "non-finite attribute value \"" + value + "\" in <" + name;
      k = end + 1;
    }
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> does not close <" + (open.empty() ? "" : open.back()) + ">";
      open.pop_back();
    } else if (!self_closing) {
      open.push_back(name);
    }
    i = k + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  return "";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

TEST(SvgChart, XmlEscapeWritesEveryMarkupCharacterAsAnEntity) {
  EXPECT_EQ(xml_escape(kNasty), kNastyEscaped);
  EXPECT_EQ(xml_escape("켜줘 plain"), "켜줘 plain");
}

TEST(SvgChart, TheCheckerCatchesBrokenMarkup) {
  EXPECT_EQ(xml_problem("<svg a=\"1\"><text>x</text></svg>\n"), "");
  EXPECT_NE(xml_problem("<svg a=\"1\"><text>x</svg>\n"), "");
  EXPECT_NE(xml_problem("<svg a=\"1\"><text>a<b</text></svg>\n"), "");
  EXPECT_NE(xml_problem("<svg a=\"1\"><text>a & b</text></svg>\n"), "");
  EXPECT_NE(xml_problem("<svg a=\"nan\"></svg>\n"), "");
}

TEST(SvgChart, LineChartEscapesEveryLabel) {
  LineChart c;
  c.title = kNasty;
  c.x_label = kNasty;
  c.y_label = kNasty;
  c.series = {{kNasty, {{0, 1}, {10, 0.5}}, ""}};
  std::string svg = line_chart_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, kNastyEscaped), 4u);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

TEST(SvgChart, LineChartDrawsEverySeriesWithItsNameAndColour) {
  LineChart c;
  c.series = {{"train loss", {{0, 3.2}, {100, 2.1}, {200, 1.4}}, "steelblue"},
              {"validation loss", {{100, 2.3}, {200, 1.9}}, "darkorange"},
              {"third", {{50, 2.0}, {150, 1.0}}, ""}};
  std::string svg = line_chart_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  for (const char* s : {"train loss", "validation loss", "third", "stroke=\"steelblue\"", "stroke=\"darkorange\""})
    EXPECT_NE(svg.find(s), std::string::npos) << s;
}

TEST(SvgChart, LineChartCoordinatesAreFiniteForDegenerateData) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  struct Case {
    const char* what;
    std::vector<LineSeries> series;
    size_t polylines;
  };
  std::vector<Case> cases = {
      {"no series", {}, 0},
      {"an empty series", {{"empty", {}, ""}}, 0},
      {"a single point", {{"one", {{5, 2.5}}, ""}}, 1},
      {"a single point at zero", {{"zero", {{0, 0}}, ""}}, 1},
      {"equal values", {{"flat", {{0, 1.5}, {10, 1.5}, {20, 1.5}}, ""}}, 1},
      {"equal x", {{"vertical", {{3, 1}, {3, 2}}, ""}}, 1},
      {"NaN and infinity only", {{"bad", {{nan, 1}, {1, inf}, {2, nan}}, ""}}, 0},
      {"NaN among good points", {{"mixed", {{0, 2}, {1, nan}, {2, 1}}, ""}}, 1},
      {"huge and tiny", {{"range", {{0, 1e-12}, {1, 1e12}}, ""}}, 1},
      {"negative", {{"neg", {{-5, -3}, {5, -1}}, ""}}, 1},
  };
  for (bool from_zero : {false, true})
    for (const auto& k : cases) {
      LineChart c;
      c.title = "t";
      c.series = k.series;
      c.y_from_zero = from_zero;
      std::string svg = line_chart_svg(c);
      EXPECT_EQ(xml_problem(svg), "") << k.what << "\n" << svg;
      EXPECT_EQ(count(svg, "<polyline"), k.polylines) << k.what;
    }
  LineChart one;
  one.series = {{"one", {{5, 2.5}}, ""}};
  EXPECT_EQ(count(line_chart_svg(one), "<circle"), 1u) << "a single point is drawn as a dot";
}

TEST(SvgChart, VerticalBarChartDrawsEveryBarAndLegendEntry) {
  BarChart c;
  c.title = "Functional success by model";
  c.series = {"model", "model-q4_0", kNasty};
  c.groups = {{"overall", {0.9, 0.8, 0.1}, "", "", false}, {"en", {1.0, 0.5, 0}, "", "", false}, {kNasty, {0.2}, "", "", false}};
  c.max_value = 1;
  c.grid = {0, 0.5, 0.9, 1};
  c.format = [](double v) { return std::to_string(int(v * 100 + 0.5)) + "%"; };
  std::string svg = bar_chart_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, "</rect>"), 9u) << "three groups of three series";
  EXPECT_EQ(count(svg, "stroke-dasharray"), 4u);
  EXPECT_NE(svg.find(">90%<"), std::string::npos);
  EXPECT_NE(svg.find("<title>overall, model-q4_0: 80%</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">model-q4_0</text>"), std::string::npos);
  // The group label, the legend entry, the group's three tooltips and the third series' three tooltips.
  EXPECT_EQ(count(svg, kNastyEscaped), 8u);
}

TEST(SvgChart, HorizontalBarChartShowsHeadingsNotesAndColours) {
  BarChart c;
  c.layout = BarChart::Layout::Horizontal;
  c.title = "Functional success: " + kNasty;
  c.groups = {{"overall", {0.97}, "97.0% (n=100)", "#2a9d8f", false},
              {"language", {}, "", "", true},
              {"en", {0.85}, "85.0% (n=40)", "#e9c46a", false},
              {"ko", {0.5}, "50.0% (n=40)", "#e76f51", false}};
  c.max_value = 1;
  c.grid = {0, 0.5, 0.9, 1};
  std::string svg = bar_chart_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, "</rect>"), 3u);
  for (const char* s : {">language</text>", "97.0% (n=100)", "85.0% (n=40)", "fill=\"#e76f51\"", kNastyEscaped.c_str()})
    EXPECT_NE(svg.find(s), std::string::npos) << s;
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

TEST(SvgChart, StackedBarsPerSectionStayInsideTheirLength) {
  BarChart c;
  c.layout = BarChart::Layout::Horizontal;
  c.stacked = true;
  c.scale_each_section = true;
  c.series = {"en", "ko", "mix"};
  c.bar_length = 200;
  c.groups = {{"Examples per value", {}, "", "", true},
              {"fan=low", {10, 20, 5}, "", "", false},
              {"fan=high", {1, 0, 0}, "", "", false},
              {"Examples per phenomenon", {}, "", "", true},
              {"typo", {1000, 2000, 3000}, "", "", false}};
  std::string svg = bar_chart_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_NE(svg.find(">35</text>"), std::string::npos) << "the total of a stack";
  EXPECT_NE(svg.find(">6000</text>"), std::string::npos);
  // Each section's longest stack fills the 200 pixels: fan=low's mix part is 5/35 of them, typo's ko part 2000/6000.
  EXPECT_EQ(count(svg, "width=\"28.6\""), 1u) << svg;
  EXPECT_EQ(count(svg, "width=\"66.7\""), 1u);
  EXPECT_EQ(count(svg, "</rect>"), 3u + 1u + 3u) << "zero-length parts of a stack are left out";
}

TEST(SvgChart, BarChartCoordinatesAreFiniteForDegenerateData) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (auto layout : {BarChart::Layout::Vertical, BarChart::Layout::Horizontal})
    for (bool stacked : {false, true}) {
      for (const std::vector<BarGroup>& groups :
           std::vector<std::vector<BarGroup>>{{},
                                              {{"zero", {0, 0}, "", "", false}},
                                              {{"none", {}, "", "", false}},
                                              {{"bad", {nan, inf, -1}, "", "", false}},
                                              {{"h", {}, "", "", true}},
                                              {{"same", {2, 2}, "", "", false}, {"same", {2, 2}, "", "", false}}}) {
        BarChart c;
        c.layout = layout;
        c.stacked = stacked;
        c.groups = groups;
        c.grid = {0, 1, nan};
        std::string svg = bar_chart_svg(c);
        EXPECT_EQ(xml_problem(svg), "") << svg;
      }
    }
}

}  // namespace
}  // namespace edgelm
