#pragma once
// SVG charts for every report edgelm writes (training loss, the demo's report
// card, the data audit, eval reports): a line chart of named (x, y) series and
// a bar chart of groups x series. Every text is XML-escaped here, and every
// coordinate is finite: an empty series, a single point or equal values get a
// range of their own instead of a division by zero, and NaN or infinite data
// is left out.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgelm {

// `s` with < > & " ' written as entities, for SVG text and attribute values.
std::string xml_escape(std::string_view s);

struct LineSeries {
  std::string name;                               // in the legend
  std::vector<std::pair<double, double>> points;  // (x, y) in drawing order
  std::string color;                              // empty: the default palette
};

struct LineChart {
  std::string title;  // empty: none
  std::string x_label, y_label;
  std::vector<LineSeries> series;  // a series without points is left out, legend included
  int width = 640, height = 360;
  bool x_from_zero = true;   // the x axis starts at 0 (steps), not at the smallest x
  bool y_from_zero = false;  // the y axis includes 0
};

// Axes with round-number ticks, light grid lines, one polyline per series (a
// dot for a single point) and a legend in the top-right corner.
std::string line_chart_svg(const LineChart& chart);

struct BarGroup {
  std::string label;
  std::vector<double> values;  // one per series (missing ones are 0); negative and NaN count as 0
  std::string note;            // after a horizontal group's bars, e.g. "97.2% (n=12)"; empty: the values
  std::string color;           // overrides the series colours (one-series charts coloured by value)
  bool heading = false;        // a section title: the label in bold, no bars
};

struct BarChart {
  enum class Layout { Vertical, Horizontal };
  std::string title;                // empty: none
  std::vector<std::string> series;  // legend names, one per value of a group; none or one empty name: no legend
  std::vector<std::string> colors;  // one per series; empty: the default palette
  std::vector<BarGroup> groups;
  Layout layout = Layout::Vertical;
  bool stacked = false;             // a group's values end to end in one bar, not side by side
  double max_value = 0;             // where the value axis ends; 0: the longest bar
  // Horizontal: each heading starts a section with its own maximum (sections
  // that count different things); grid lines are then left out.
  bool scale_each_section = false;
  std::vector<double> grid;                    // dashed reference lines at these values, labelled
  std::function<std::string(double)> format;   // value text (grid, notes, tooltips); empty: 12 or 0.25
  int label_width = 160;                       // horizontal: room for the group labels, in pixels
  int bar_length = 300;                        // the longest bar, in pixels
};

// Every bar carries a tooltip ("group, series: value").
std::string bar_chart_svg(const BarChart& chart);

}  // namespace edgelm
