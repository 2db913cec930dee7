#include "platform/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {

namespace {

const char* const kPalette[] = {"#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8ab17d", "#6d597a", "#b56576"};

// A coordinate or length in pixels. Callers only pass finite values; the guard
// keeps a slip from writing "nan" into a file that browsers then refuse.
std::string px(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string default_format(double v) {
  char buf[32];
  if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Rough text width at font-size 12, for laying out legends.
double text_width(std::string_view s) { return 7.0 * double(utf8_length(s)); }

std::string svg_open(double width, double height, int font_size) {
  return cat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", px(width), "\" height=\"", px(height), "\" viewBox=\"0 0 ",
             px(width), " ", px(height), "\" font-family=\"sans-serif\" font-size=\"", font_size,
             "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
}

std::string title_text(const std::string& title) {
  if (title.empty()) return "";
  return cat("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", xml_escape(title), "</text>\n");
}

std::string swatch(double x, double y, const std::string& color) {
  return cat("<rect x=\"", px(x), "\" y=\"", px(y), "\" width=\"10\" height=\"10\" fill=\"", xml_escape(color), "\"/>");
}

// A value axis with round-number ticks (1, 2 or 5 times a power of ten) that
// start and end the axis.
struct Axis {
  double lo = 0, hi = 1, step = 0.25;
  int decimals = 2;

  double fraction(double v) const { return (v - lo) / (hi - lo); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    for (int k = 0; k <= 40; ++k) {
      double v = lo + step * k;
      if (v > hi + step * 1e-6) break;
      out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    }
    return out;
  }
  std::string text(double v) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
  }
};

// lo > hi means no data.
Axis nice_axis(double lo, double hi, bool from_zero) {
  if (lo > hi) lo = 0, hi = 1;
  if (from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (!(hi - lo > 1e-12 * std::max(1.0, std::abs(hi)))) {
    // A single value: centre it, or start at zero when zero is asked for.
    if (from_zero && lo == 0) {
      hi = 1;
    } else {
      double pad = lo != 0 ? std::abs(lo) * 0.1 : 1;
      lo -= pad;
      hi += pad;
    }
  }
  Axis a;
  double span = hi - lo;
  if (!std::isfinite(span)) return a;
  double raw = span / 4, magnitude = std::pow(10.0, std::floor(std::log10(raw))), f = raw / magnitude;
  a.step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  a.decimals = a.step >= 1 ? 0 : std::min(6, int(std::ceil(-std::log10(a.step) - 1e-9)));
  return a;
}

double clean(double v) { return std::isfinite(v) && v > 0 ? v : 0; }

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string line_chart_svg(const LineChart& c) {
  const double W = std::max(c.width, 200), H = std::max(c.height, 150);
  const double L = 64, R = 16, T = c.title.empty() ? 14 : 36, B = 44;
  const double x0 = L, x1 = W - R, y0 = T, y1 = H - B;

  double x_lo = 1, x_hi = 0, y_lo = 1, y_hi = 0;  // lo > hi: no point yet
  for (const auto& s : c.series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (x_lo > x_hi) x_lo = x_hi = x, y_lo = y_hi = y;
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
    }
  const Axis ax = nice_axis(x_lo, x_hi, c.x_from_zero), ay = nice_axis(y_lo, y_hi, c.y_from_zero);
  auto sx = [&](double x) { return x0 + (x1 - x0) * ax.fraction(x); };
  auto sy = [&](double y) { return y1 - (y1 - y0) * ay.fraction(y); };

  std::string svg = svg_open(W, H, 11) + title_text(c.title);
  for (double v : ay.ticks())
    svg += cat("<line x1=\"", px(x0), "\" y1=\"", px(sy(v)), "\" x2=\"", px(x1), "\" y2=\"", px(sy(v)),
               "\" stroke=\"#e4e4e4\"/><text x=\"", px(x0 - 5), "\" y=\"", px(sy(v) + 4), "\" text-anchor=\"end\" fill=\"#555\">",
               ay.text(v), "</text>\n");
  for (double v : ax.ticks())
    svg += cat("<line x1=\"", px(sx(v)), "\" y1=\"", px(y1), "\" x2=\"", px(sx(v)), "\" y2=\"", px(y1 + 4),
               "\" stroke=\"black\"/><text x=\"", px(sx(v)), "\" y=\"", px(y1 + 16), "\" text-anchor=\"middle\" fill=\"#555\">",
               ax.text(v), "</text>\n");
  svg += cat("<line x1=\"", px(x0), "\" y1=\"", px(y1), "\" x2=\"", px(x1), "\" y2=\"", px(y1), "\" stroke=\"black\"/>\n");
  svg += cat("<line x1=\"", px(x0), "\" y1=\"", px(y0), "\" x2=\"", px(x0), "\" y2=\"", px(y1), "\" stroke=\"black\"/>\n");
  if (!c.x_label.empty())
    svg += cat("<text x=\"", px((x0 + x1) / 2), "\" y=\"", px(H - 8), "\" text-anchor=\"middle\">", xml_escape(c.x_label),
               "</text>\n");
  if (!c.y_label.empty())
    svg += cat("<text transform=\"translate(14,", px((y0 + y1) / 2), ") rotate(-90)\" text-anchor=\"middle\">",
               xml_escape(c.y_label), "</text>\n");

  int shown = 0;
  for (size_t i = 0; i < c.series.size(); ++i) {
    const LineSeries& s = c.series[i];
    const std::string color = xml_escape(s.color.empty() ? kPalette[i % std::size(kPalette)] : s.color);
    std::string points;
    int n = 0;
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      points += cat(n ? " " : "", px(sx(x)), ",", px(sy(y)));
      ++n;
    }
    if (n == 0) continue;
    svg += cat("<polyline fill=\"none\" stroke=\"", color, "\" stroke-width=\"1.5\" points=\"", points, "\"/>\n");
    if (n == 1) svg += cat("<circle cx=\"", points.substr(0, points.find(',')), "\" cy=\"", points.substr(points.find(',') + 1),
                           "\" r=\"3\" fill=\"", color, "\"/>\n");
    // The legend reads from the right edge, so a long name grows leftwards into the plot, not off the image.
    const double ly = y0 + 6 + 16 * shown++;
    svg += cat("<text x=\"", px(x1 - 18), "\" y=\"", px(ly + 9), "\" text-anchor=\"end\">", xml_escape(s.name), "</text>",
               swatch(x1 - 14, ly, color), "\n");
  }
  return svg + "</svg>\n";
}

std::string bar_chart_svg(const BarChart& c) {
  const bool horizontal = c.layout == BarChart::Layout::Horizontal;
  size_t n_series = std::max<size_t>(1, c.series.size());
  for (const auto& g : c.groups) n_series = std::max(n_series, g.values.size());
  const size_t bars_per_group = c.stacked ? 1 : n_series;
  auto format = [&](double v) { return c.format ? c.format(v) : default_format(v); };
  auto value = [&](const BarGroup& g, size_t s) { return s < g.values.size() ? clean(g.values[s]) : 0.0; };
  auto color = [&](const BarGroup& g, size_t s) {
    if (!g.color.empty()) return xml_escape(g.color);
    if (s < c.colors.size() && !c.colors[s].empty()) return xml_escape(c.colors[s]);
    return std::string(kPalette[s % std::size(kPalette)]);
  };
  auto series_name = [&](size_t s) { return s < c.series.size() ? c.series[s] : std::string(); };
  auto tooltip = [&](const BarGroup& g, size_t s, double v) {
    std::string name = series_name(s);
    return cat("<title>", xml_escape(g.label), name.empty() ? "" : ", ", xml_escape(name), ": ", xml_escape(format(v)),
               "</title>");
  };
  const bool legend = c.series.size() > 1 || (c.series.size() == 1 && !c.series[0].empty());

  // The largest bar of each section (one section unless scale_each_section).
  std::vector<double> section_max;
  std::vector<size_t> section_of(c.groups.size(), 0);
  const bool per_section = horizontal && c.scale_each_section;
  section_max.push_back(0);
  for (size_t i = 0; i < c.groups.size(); ++i) {
    const BarGroup& g = c.groups[i];
    if (g.heading && per_section && i > 0) section_max.push_back(0);
    section_of[i] = section_max.size() - 1;
    double total = 0;
    for (size_t s = 0; s < n_series; ++s) {
      total += value(g, s);
      if (!c.stacked) section_max.back() = std::max(section_max.back(), value(g, s));
    }
    if (c.stacked) section_max.back() = std::max(section_max.back(), total);
  }
  for (double& m : section_max) {
    if (c.max_value > 0 && std::isfinite(c.max_value)) m = c.max_value;
    if (!(m > 0) || !std::isfinite(m)) m = 1;
  }
  const bool grid = !c.grid.empty() && !per_section;
  const double T = c.title.empty() ? 14 : 40, bar_length = std::max(c.bar_length, 10);
  auto length = [&](size_t group, double v) { return std::min(1.0, v / section_max[section_of[group]]) * bar_length; };

  std::string body;
  double width = 0, height = 0, legend_y = 0;
  if (horizontal) {
    const double left = std::max(c.label_width, 20), bar_h = bars_per_group > 1 ? 12 : 13;
    const double group_h = double(bars_per_group) * bar_h + 5, heading_h = 20;
    double y = T + (grid ? 6 : 0);
    for (size_t i = 0; i < c.groups.size(); ++i) {
      const BarGroup& g = c.groups[i];
      if (g.heading) {
        body += cat("<text x=\"10\" y=\"", px(y + 14), "\" font-weight=\"bold\">", xml_escape(g.label), "</text>\n");
        y += heading_h;
        continue;
      }
      body += cat("<text x=\"", px(left - 6), "\" y=\"", px(y + group_h / 2 + 4), "\" text-anchor=\"end\">", xml_escape(g.label),
                  "</text>\n");
      double x = left, end = left, total = 0;
      for (size_t s = 0; s < n_series; ++s) {
        const double v = value(g, s), w = length(i, v);
        const double by = c.stacked ? y + 2 : y + 2 + bar_h * double(s);
        const double bx = c.stacked ? x : left;
        total += v;
        if (w > 0 || !c.stacked)
          body += cat("<rect x=\"", px(bx), "\" y=\"", px(by), "\" width=\"", px(w), "\" height=\"", px(bar_h - 1), "\" fill=\"",
                      color(g, s), "\">", tooltip(g, s, v), "</rect>\n");
        if (c.stacked) x += w;
        else if (g.note.empty())
          body += cat("<text x=\"", px(bx + w + 4), "\" y=\"", px(by + bar_h - 2), "\">", xml_escape(format(v)), "</text>\n");
        end = std::max(end, bx + w);
      }
      std::string note = !g.note.empty() ? g.note : c.stacked ? format(total) : "";
      if (!note.empty())
        body += cat("<text x=\"", px(end + 4), "\" y=\"", px(y + group_h / 2 + 4), "\">", xml_escape(note), "</text>\n");
      y += group_h;
    }
    // The grid goes under the bars, so it comes first in the file.
    const double bottom = y + 2;
    std::string lines;
    if (grid)
      for (double v : c.grid) {
        if (!std::isfinite(v)) continue;
        const double x = left + std::min(1.0, clean(v) / section_max[0]) * bar_length;
        lines += cat("<line x1=\"", px(x), "\" y1=\"", px(T), "\" x2=\"", px(x), "\" y2=\"", px(bottom),
                    "\" stroke=\"#bbb\" stroke-dasharray=\"2,2\"/><text x=\"", px(x), "\" y=\"", px(bottom + 13),
                    "\" text-anchor=\"middle\" fill=\"#555\">", xml_escape(format(v)), "</text>\n");
      }
    body = lines + body;
    width = left + bar_length + 150;
    legend_y = bottom + (grid ? 26 : 10);
  } else {
    const double left = 48, bar_w = 14, gap = 24, group_w = double(bars_per_group) * bar_w + gap;
    const double base = T + bar_length;
    width = std::max(left + double(c.groups.size()) * group_w + 20, 420.0);
    for (double v : c.grid) {
      if (!std::isfinite(v)) continue;
      const double y = base - std::min(1.0, clean(v) / section_max[0]) * bar_length;
      body += cat("<line x1=\"", px(left), "\" y1=\"", px(y), "\" x2=\"", px(width - 10), "\" y2=\"", px(y),
                  "\" stroke=\"#bbb\" stroke-dasharray=\"2,2\"/><text x=\"", px(left - 4), "\" y=\"", px(y + 4),
                  "\" text-anchor=\"end\" fill=\"#555\">", xml_escape(format(v)), "</text>\n");
    }
    for (size_t i = 0; i < c.groups.size(); ++i) {
      const BarGroup& g = c.groups[i];
      const double x0 = left + double(i) * group_w + gap / 2;
      body += cat("<text x=\"", px(x0), "\" y=\"", px(base + 16), "\"", g.heading ? " font-weight=\"bold\"" : "", ">",
                  xml_escape(g.label), "</text>\n");
      if (g.heading) continue;
      double stack = 0;
      for (size_t s = 0; s < n_series; ++s) {
        const double v = value(g, s), h = length(i, v);
        const double bx = c.stacked ? x0 : x0 + bar_w * double(s);
        if (h > 0 || !c.stacked)
          body += cat("<rect x=\"", px(bx), "\" y=\"", px(base - stack - h), "\" width=\"", px(bar_w - 2), "\" height=\"", px(h),
                      "\" fill=\"", color(g, s), "\">", tooltip(g, s, v), "</rect>\n");
        if (c.stacked) stack += h;
      }
    }
    body += cat("<line x1=\"", px(left), "\" y1=\"", px(base), "\" x2=\"", px(left + double(c.groups.size()) * group_w), "\" y2=\"",
                px(base), "\" stroke=\"black\"/>\n");
    legend_y = base + 30;
  }

  height = legend_y;
  if (legend) {
    double widest = 0;
    for (size_t s = 0; s < c.series.size(); ++s) {
      body += cat(swatch(10, legend_y + 16 * double(s), c.colors.size() > s && !c.colors[s].empty() ? c.colors[s]
                                                                                                       : kPalette[s % std::size(kPalette)]),
                  "<text x=\"26\" y=\"", px(legend_y + 16 * double(s) + 10), "\">", xml_escape(c.series[s]), "</text>\n");
      widest = std::max(widest, text_width(c.series[s]));
    }
    height = legend_y + 16 * double(c.series.size()) + 4;
    width = std::max(width, 36 + widest);
  }
  height = std::max(height + 6, T + 20);
  return svg_open(width, height, 12) + title_text(c.title) + body + "</svg>\n";
}

}  // namespace edgelm
