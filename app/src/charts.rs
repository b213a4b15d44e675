//! Energy charts drawn on the server with plotters' SVG backend and embedded inline in pages.
//!
//! Data in, SVG out: every function takes already-translated text ([`Labels`], series names,
//! bucket labels) and returns one complete `<svg>` element. Nothing here knows about languages,
//! the database or Leptos; the caller renders the string with `inner_html`.
//!
//! The output is made for the app's Content-Security-Policy and for inline use:
//! - no `style=` attribute and no `<style>` element (presentation attributes only);
//! - `viewBox` plus `width="100%"` and no height, so the chart scales to its container's width
//!   and keeps its aspect ratio; `role="img"`, `aria-label` and `<title>` carry the title;
//! - the font family is set once on the root (`Noto Sans CJK SC, PingFang SC, ...`): the browser
//!   picks the CJK font, no font is read on the server.
//!
//! Text cannot be measured on the server, so layout uses [`text_width`], an estimate that counts
//! CJK and other wide characters as 1 em and everything else as about 0.55 em. Margins, how many
//! x labels are drawn and where names are cut with "…" all follow from it.
//!
//! Values: NaN and infinities mean "no data" (a gap in a line, no bar, a hatched heatmap cell);
//! negative values are drawn as 0; value axes start at 0. A series shorter than the bucket list
//! is missing its last buckets, extra values are ignored. When nothing is left to draw, the chart
//! shows [`Labels::empty`] instead. Output is deterministic: the same input gives the same bytes.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart's viewBox, in SVG user units (px at 100 % scale).
pub const WIDTH: u32 = 800;
/// Height of the time charts ([`time_series`], [`stacked_bars`], [`compare`]).
pub const HEIGHT: u32 = 320;
/// Height of one day row in [`heatmap`]; the heatmap's height follows its number of rows.
pub const HEATMAP_ROW: u32 = 14;
/// Height of one bar row in [`top_bars`]; its height follows the number of names.
pub const TOP_BAR_ROW: u32 = 24;
/// Height of a chart that only shows the "no data" message (heatmap, top bars).
pub const EMPTY_HEIGHT: u32 = 120;
/// Font families set on the root element; the browser picks the first one it has.
pub const FONT_FAMILY: &str = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif";

/// Already-translated text around a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    /// Drawn at the top left; also the accessible name (`aria-label`, `<title>`).
    pub title: String,
    /// Caption of the bucket axis ("日期", "Date"), drawn under its right end; in [`heatmap`] the
    /// header above the day labels, in [`top_bars`] the header above the names. May be empty.
    pub x: String,
    /// Unit of the values ("kWh", "t CO₂"), drawn above the value axis and after totals.
    pub y: String,
    /// Message drawn instead of the chart when there is no data ("暂无数据" / "No data"); also
    /// names the hatched "no data" swatch of the heatmap.
    pub empty: String,
}

/// One named line, bar stack segment or period: one value per x bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// Estimated width in px of `s` drawn at `font_px`: wide (CJK, full-width) characters count
/// 1 em, capitals and m/w 0.7 em, everything else 0.55 em. Errs on the wide side.
pub fn text_width(s: &str, font_px: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * font_px
}

/// `s` unchanged when its estimated width fits in `max_w`, else cut and ended with "…".
pub fn fit_text(s: &str, font_px: f64, max_w: f64) -> String {
    if text_width(s, font_px) <= max_w {
        return s.to_string();
    }
    let budget = max_w - text_width("…", font_px);
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = char_em(c) * font_px;
        if used + w > budget {
            break;
        }
        out.push(c);
        used += w;
    }
    let mut out = out.trim_end().to_string();
    out.push('…');
    out
}

/// A number in at most four characters plus a suffix: 950, 1.2k, 12.5k, 3.4M, 2G, 0.25.
pub fn compact(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let a = v.abs();
    for (unit, suffix) in [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G")] {
        let scaled = v / unit;
        let digits = if a < 1.0 && unit == 1.0 {
            if a == 0.0 {
                0
            } else {
                (1.0 - a.log10().floor()).clamp(0.0, 6.0) as usize
            }
        } else if scaled.abs() >= 100.0 {
            0
        } else if scaled.abs() >= 10.0 {
            1
        } else {
            2
        };
        let text = format!("{scaled:.digits$}");
        let rounded: f64 = text.parse().unwrap_or(scaled);
        if rounded.abs() < 1000.0 || suffix == "G" {
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                text
            };
            let text = if text == "-0" { "0".to_string() } else { text };
            return format!("{text}{suffix}");
        }
    }
    unreachable!("the last unit always returns")
}

/// Line chart: x buckets labelled by `x_labels` (only every k-th label is drawn, so they never
/// overlap), one line per series, a legend with each series' name. 800×320.
pub fn time_series(labels: &Labels, x_labels: &[String], series: &[Series]) -> String {
    let n = x_labels.len();
    let Some(max) = max_value(series.iter(), n) else {
        return empty_chart(labels, WIDTH, HEIGHT);
    };
    let legend: Vec<LegendItem> = series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(&s.name, colour(i), Mark::Line))
        .collect();
    render(WIDTH, HEIGHT, &labels.title, |p| {
        let frame = cartesian(p, labels, x_labels, max, &legend);
        for (i, s) in series.iter().enumerate() {
            draw_line_series(p, &frame, &s.values, colour(i), false);
        }
    })
}

/// Stacked bars: one bar per x bucket, one segment per series (e.g. per district) stacked in
/// the order given, a legend with each series' name and colour. 800×320.
pub fn stacked_bars(labels: &Labels, x_labels: &[String], series: &[Series]) -> String {
    let n = x_labels.len();
    let totals: Vec<f64> = (0..n)
        .map(|i| series.iter().filter_map(|s| value_at(&s.values, i)).sum())
        .collect();
    if max_value(series.iter(), n).is_none() {
        return empty_chart(labels, WIDTH, HEIGHT);
    }
    let max = totals.iter().copied().fold(0.0, f64::max);
    let legend: Vec<LegendItem> = series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(&s.name, colour(i), Mark::Square))
        .collect();
    render(WIDTH, HEIGHT, &labels.title, |p| {
        let frame = cartesian(p, labels, x_labels, max, &legend);
        let half = (frame.slot() * 0.35).max(0.5);
        for i in 0..n {
            let cx = frame.cx(i);
            let mut base = 0.0;
            for (j, s) in series.iter().enumerate() {
                let Some(v) = value_at(&s.values, i) else {
                    continue;
                };
                if v <= 0.0 {
                    continue;
                }
                let (y_low, y_high) = (frame.y(base), frame.y(base + v));
                p.rect((cx - half, y_high), (cx + half, y_low), colour(j));
                base += v;
            }
        }
    })
}

/// Heatmap of days by hours: `values[row][hour]` for hours 0..=23, rows labelled by
/// `row_labels` ("11-03 周二"). `None` (or NaN) is drawn as a hatched grey cell. Below the grid a
/// colour scale from the smallest to the largest value, with the unit. 800 wide, height
/// [`HEATMAP_ROW`] per row plus about 80.
pub fn heatmap(labels: &Labels, row_labels: &[String], values: &[Vec<Option<f64>>]) -> String {
    let cell = |r: usize, c: usize| values[r].get(c).copied().flatten().and_then(clean);
    let rows = values.len();
    let found: Vec<f64> = (0..rows)
        .flat_map(|r| (0..24).filter_map(move |c| cell(r, c)))
        .collect();
    if found.is_empty() {
        return empty_chart(labels, WIDTH, EMPTY_HEIGHT);
    }
    let min = found.iter().copied().fold(f64::INFINITY, f64::min);
    let max = found.iter().copied().fold(0.0, f64::max);
    let any_missing = found.len() < rows * 24;

    let w = f64::from(WIDTH);
    let names: Vec<String> = (0..rows)
        .map(|r| {
            fit_text(
                row_labels.get(r).map_or("", String::as_str),
                TICK_PX,
                w * 0.25,
            )
        })
        .collect();
    let caption = fit_text(&labels.x, TICK_PX, w * 0.25);
    let label_w = names
        .iter()
        .chain(std::iter::once(&caption))
        .map(|s| text_width(s, TICK_PX))
        .fold(0.0, f64::max);
    let x0 = PAD + label_w + 6.0;
    let x1 = w - PAD;
    let cw = (x1 - x0) / 24.0;
    let row_h = f64::from(HEATMAP_ROW);
    let hours_y = header_height();
    let grid_top = hours_y + TICK_PX + 6.0;
    let grid_bottom = grid_top + rows as f64 * row_h;
    let legend_y = grid_bottom + 12.0;
    let height = (legend_y + 12.0 + PAD).ceil() as u32;

    render(WIDTH, height, &labels.title, |p| {
        draw_title(p, &labels.title);
        let step = x_label_step(cw, text_width("23", TICK_PX));
        for c in (0..24).step_by(step) {
            let cx = x0 + (c as f64 + 0.5) * cw;
            p.text(
                &c.to_string(),
                (cx, hours_y),
                TextSpec::small(HPos::Center, VPos::Top),
            );
        }
        p.text(
            &caption,
            (x0 - 6.0, hours_y),
            TextSpec::small(HPos::Right, VPos::Top),
        );
        for (r, name) in names.iter().enumerate() {
            let y = grid_top + r as f64 * row_h;
            p.text(
                name,
                (x0 - 6.0, y + row_h / 2.0),
                TextSpec::small(HPos::Right, VPos::Center).ink(),
            );
            for c in 0..24 {
                let a = (x0 + c as f64 * cw, y);
                let b = (x0 + (c + 1) as f64 * cw - 1.0, y + row_h - 1.0);
                match cell(r, c) {
                    Some(v) => {
                        let t = if max > min {
                            (v - min) / (max - min)
                        } else {
                            1.0
                        };
                        p.rect(a, b, scale_colour(t));
                    }
                    None => hatched(p, a, b),
                }
            }
        }
        // Colour scale: min ▭▭▭ max unit   ▨ no data
        let small = TextSpec::small(HPos::Left, VPos::Center);
        let mid = legend_y + 5.0;
        let min_text = compact(min);
        p.text(&min_text, (x0, mid), small);
        let mut x = x0 + text_width(&min_text, TICK_PX) + 6.0;
        let steps = 32;
        let bar_w = 160.0;
        for k in 0..steps {
            let a = x + bar_w * k as f64 / steps as f64;
            // Each step overlaps the next by a pixel so no seam shows when scaled.
            let b =
                x + bar_w * (k + 1) as f64 / steps as f64 + if k + 1 < steps { 1.0 } else { 0.0 };
            p.rect(
                (a, legend_y),
                (b, legend_y + 10.0),
                scale_colour(k as f64 / (steps - 1) as f64),
            );
        }
        x += bar_w + 6.0;
        let max_text = with_unit(&compact(max), &labels.y);
        p.text(&max_text, (x, mid), small);
        x += text_width(&max_text, TICK_PX) + 24.0;
        if any_missing {
            hatched(p, (x, legend_y), (x + 10.0, legend_y + 10.0));
            let room = (x1 - x - 16.0).max(0.0);
            p.text(
                &fit_text(&labels.empty, TICK_PX, room),
                (x + 16.0, mid),
                small,
            );
        }
    })
}

/// Horizontal bars in the order given (top consumers first): names on the left, cut with "…"
/// beyond 30 % of the width, the value at the end of each bar. 800 wide, height
/// [`TOP_BAR_ROW`] per name plus about 60.
pub fn top_bars(labels: &Labels, names: &[String], values: &[f64]) -> String {
    let n = names.len();
    let vals: Vec<Option<f64>> = (0..n).map(|i| value_at(values, i)).collect();
    if vals.iter().all(Option::is_none) {
        return empty_chart(labels, WIDTH, EMPTY_HEIGHT);
    }
    let max = vals.iter().flatten().copied().fold(0.0, f64::max);
    let scale_max = if max > 0.0 { max } else { 1.0 };

    let w = f64::from(WIDTH);
    let name_max = (w * 0.3).floor();
    let shown: Vec<String> = names
        .iter()
        .map(|s| fit_text(s, TEXT_PX, name_max))
        .collect();
    let caption = fit_text(&labels.x, TICK_PX, name_max);
    let name_w = shown
        .iter()
        .map(|s| text_width(s, TEXT_PX))
        .chain(std::iter::once(text_width(&caption, TICK_PX)))
        .fold(0.0, f64::max);
    let value_text: Vec<String> = vals
        .iter()
        .map(|v| v.map_or("–".to_string(), compact))
        .collect();
    let value_w = value_text
        .iter()
        .map(|s| text_width(s, TICK_PX))
        .fold(0.0, f64::max);
    let bx0 = PAD + name_w + 8.0;
    let bx1 = w - PAD - value_w - 6.0;
    let row_h = f64::from(TOP_BAR_ROW);
    let head_y = header_height();
    let top = head_y + TICK_PX + 6.0;
    let height = (top + n as f64 * row_h + PAD).ceil() as u32;

    render(WIDTH, height, &labels.title, |p| {
        draw_title(p, &labels.title);
        p.text(
            &caption,
            (bx0 - 8.0, head_y),
            TextSpec::small(HPos::Right, VPos::Top),
        );
        let unit = fit_text(&labels.y, TICK_PX, bx1 - bx0);
        p.text(&unit, (bx0, head_y), TextSpec::small(HPos::Left, VPos::Top));
        for i in 0..n {
            let y = top + i as f64 * row_h;
            let mid = y + row_h / 2.0;
            let name_spec = TextSpec {
                px: TEXT_PX,
                ..TextSpec::small(HPos::Right, VPos::Center).ink()
            };
            p.text(&shown[i], (bx0 - 8.0, mid), name_spec);
            let len = vals[i].map_or(0.0, |v| v / scale_max * (bx1 - bx0));
            if len >= 0.5 {
                p.rect((bx0, y + 5.0), (bx0 + len, y + row_h - 5.0), colour(0));
            }
            let spec = TextSpec::small(HPos::Left, VPos::Center).ink();
            p.text(&value_text[i], (bx0 + len + 4.0, mid), spec);
        }
    })
}

/// This period against the previous one over the same x buckets: `current` as a solid line,
/// `previous` dashed in a second colour; the legend gives each period's name and total (with
/// [`Labels::y`] as unit). 800×320.
pub fn compare(
    labels: &Labels,
    x_labels: &[String],
    current: &Series,
    previous: &Series,
) -> String {
    let n = x_labels.len();
    let Some(max) = max_value([current, previous].into_iter(), n) else {
        return empty_chart(labels, WIDTH, HEIGHT);
    };
    let total = |s: &Series| -> f64 { (0..n).filter_map(|i| value_at(&s.values, i)).sum() };
    let legend = [
        (current, colour(0), Mark::Line),
        (previous, colour(1), Mark::Dashed),
    ]
    .map(|(s, c, mark)| {
        let name = fit_text(&s.name, TEXT_PX, MAX_LEGEND_W);
        LegendItem::new(
            &format!("{name} {}", with_unit(&compact(total(s)), &labels.y)),
            c,
            mark,
        )
    });
    render(WIDTH, HEIGHT, &labels.title, |p| {
        let frame = cartesian(p, labels, x_labels, max, &legend);
        draw_line_series(p, &frame, &previous.values, colour(1), true);
        draw_line_series(p, &frame, &current.values, colour(0), false);
    })
}

// ---------------------------------------------------------------------------------------------
// Layout

const PAD: f64 = 12.0;
const TITLE_PX: f64 = 14.0;
const TEXT_PX: f64 = 12.0;
const TICK_PX: f64 = 11.0;
const EMPTY_PX: f64 = 13.0;
/// Longest x label and legend entry before they are cut with "…".
const MAX_X_LABEL_W: f64 = 110.0;
const MAX_LEGEND_W: f64 = 200.0;
/// Free space kept between two neighbouring x labels.
const LABEL_GAP: f64 = 8.0;
const LEGEND_ROW: f64 = 18.0;
/// Legend swatch width, and the space between swatch and text and between entries.
const SWATCH_W: f64 = 16.0;
const SWATCH_GAP: f64 = 5.0;
const ENTRY_GAP: f64 = 16.0;
/// plotters' SVG backend writes `font-size` as the requested size divided by 1.24.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

const INK: RGBColor = RGBColor(0x26, 0x26, 0x26);
const MUTED: RGBColor = RGBColor(0x59, 0x59, 0x59);
const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
const AXIS: RGBColor = RGBColor(0x8C, 0x8C, 0x8C);
const NO_DATA: RGBColor = RGBColor(0xEE, 0xEE, 0xEE);
const NO_DATA_HATCH: RGBColor = RGBColor(0xB0, 0xB0, 0xB0);

/// Okabe–Ito (the first seven, black last so it is not mistaken for an axis), then two colours
/// from Paul Tol's muted scheme; pale yellow last as it is the weakest line on white.
/// Series beyond ten reuse the colours from the start.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0x88, 0x22, 0x55), // wine (Tol)
    RGBColor(0x99, 0x99, 0x33), // olive (Tol)
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

/// ColorBrewer YlGnBu without its palest step (too close to the white page): light = low.
const SCALE: [RGBColor; 8] = [
    RGBColor(0xED, 0xF8, 0xB1),
    RGBColor(0xC7, 0xE9, 0xB4),
    RGBColor(0x7F, 0xCD, 0xBB),
    RGBColor(0x41, 0xB6, 0xC4),
    RGBColor(0x1D, 0x91, 0xC0),
    RGBColor(0x22, 0x5E, 0xA8),
    RGBColor(0x25, 0x34, 0x94),
    RGBColor(0x08, 0x1D, 0x58),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn scale_colour(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (SCALE.len() - 1) as f64;
    let i = (pos.floor() as usize).min(SCALE.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (SCALE[i], SCALE[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn char_em(c: char) -> f64 {
    if is_wide(c) {
        1.0
    } else if c.is_ascii_uppercase() || matches!(c, 'm' | 'w' | '%' | '@') {
        0.7
    } else {
        0.55
    }
}

/// East Asian wide and full-width characters, plus general punctuation ("…", "—", "·"), which
/// CJK fonts draw 1 em wide.
fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2010..=0x206F
        | 0x2E80..=0x303E
        | 0x3040..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD)
}

/// A value fit to draw: finite, negatives as 0.
fn clean(v: f64) -> Option<f64> {
    v.is_finite().then_some(v.max(0.0))
}

fn value_at(values: &[f64], i: usize) -> Option<f64> {
    values.get(i).copied().and_then(clean)
}

/// The largest value among the first `n` buckets of the series, `None` when there is none.
fn max_value<'a>(series: impl Iterator<Item = &'a Series>, n: usize) -> Option<f64> {
    series
        .flat_map(|s| (0..n).filter_map(|i| value_at(&s.values, i)))
        .reduce(f64::max)
}

fn with_unit(number: &str, unit: &str) -> String {
    if unit.is_empty() {
        number.to_string()
    } else {
        format!("{number} {unit}")
    }
}

/// The axis top and tick step for values 0..=max, about five ticks on 1/2/2.5/5 × 10ⁿ.
fn nice_axis(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 0.25);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let top = ((max / step) - 1e-9).ceil().max(1.0) * step;
    (top, step)
}

/// Draw every k-th x label: the smallest k (from 1, 2, 3, 4, 6, 12, then multiples of 12)
/// whose labels, `label_w` wide and centred on slots `slot` apart, keep [`LABEL_GAP`] apart.
fn x_label_step(slot: f64, label_w: f64) -> usize {
    if slot.is_nan() || slot <= 0.0 {
        return 1;
    }
    let need = ((label_w + LABEL_GAP) / slot).ceil().max(1.0) as usize;
    [1, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|k| *k >= need)
        .unwrap_or_else(|| need.div_ceil(12) * 12)
}

/// Where each legend entry starts (x of its swatch) and on which row, wrapping within
/// `x0..x1`. Returns the positions and the number of rows.
fn legend_layout(texts: &[String], x0: f64, x1: f64) -> (Vec<(f64, usize)>, usize) {
    let mut out = Vec::with_capacity(texts.len());
    let (mut x, mut row) = (x0, 0);
    for t in texts {
        let w = SWATCH_W + SWATCH_GAP + text_width(t, TEXT_PX);
        if x > x0 && x + w > x1 {
            row += 1;
            x = x0;
        }
        out.push((x, row));
        x += w + ENTRY_GAP;
    }
    let rows = if texts.is_empty() { 0 } else { row + 1 };
    (out, rows)
}

/// Top of the first line below the title.
fn header_height() -> f64 {
    PAD + TITLE_PX + 10.0
}

#[derive(Clone, Copy)]
enum Mark {
    Square,
    Line,
    Dashed,
}

struct LegendItem {
    text: String,
    colour: RGBColor,
    mark: Mark,
}

impl LegendItem {
    fn new(text: &str, colour: RGBColor, mark: Mark) -> Self {
        LegendItem {
            text: fit_text(text, TEXT_PX, MAX_LEGEND_W),
            colour,
            mark,
        }
    }
}

/// The plot area of a chart with buckets along x and values 0..=top along y.
struct Frame {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    n: usize,
    top: f64,
}

impl Frame {
    fn slot(&self) -> f64 {
        (self.x1 - self.x0) / self.n.max(1) as f64
    }
    fn cx(&self, i: usize) -> f64 {
        self.x0 + (i as f64 + 0.5) * self.slot()
    }
    fn y(&self, v: f64) -> f64 {
        self.y1 - v.clamp(0.0, self.top) / self.top * (self.y1 - self.y0)
    }
}

/// Title, legend, unit, value axis with grid lines and thinned bucket labels; returns the plot
/// area for the data.
fn cartesian(
    p: &Painter,
    labels: &Labels,
    x_labels: &[String],
    max: f64,
    legend: &[LegendItem],
) -> Frame {
    let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
    draw_title(p, &labels.title);
    let mut y = header_height();
    let texts: Vec<String> = legend.iter().map(|l| l.text.clone()).collect();
    let (places, rows) = legend_layout(&texts, PAD, w - PAD);
    for (item, (x, row)) in legend.iter().zip(places) {
        let mid = y + row as f64 * LEGEND_ROW + LEGEND_ROW / 2.0;
        match item.mark {
            Mark::Square => p.rect((x + 3.0, mid - 5.0), (x + 13.0, mid + 5.0), item.colour),
            Mark::Line => p.line(&[(x, mid), (x + SWATCH_W, mid)], item.colour, 2, false),
            Mark::Dashed => p.line(&[(x, mid), (x + SWATCH_W, mid)], item.colour, 2, true),
        }
        let spec = TextSpec {
            px: TEXT_PX,
            ..TextSpec::small(HPos::Left, VPos::Center).ink()
        };
        p.text(&item.text, (x + SWATCH_W + SWATCH_GAP, mid), spec);
    }
    y += rows as f64 * LEGEND_ROW + if rows > 0 { 4.0 } else { 0.0 };
    p.text(
        &fit_text(&labels.y, TICK_PX, w / 2.0),
        (PAD, y),
        TextSpec::small(HPos::Left, VPos::Top),
    );
    let y0 = y + TICK_PX + 10.0;

    let (top, step) = nice_axis(max);
    let ticks: Vec<(f64, String)> = (0..)
        .map(|k| k as f64 * step)
        .take_while(|v| *v <= top * (1.0 + 1e-9))
        .map(|v| (v, compact(v)))
        .collect();
    let tick_w = ticks
        .iter()
        .map(|(_, t)| text_width(t, TICK_PX))
        .fold(0.0, f64::max);
    let shown: Vec<String> = x_labels
        .iter()
        .map(|s| fit_text(s, TICK_PX, MAX_X_LABEL_W))
        .collect();
    let label_w = shown
        .iter()
        .map(|s| text_width(s, TICK_PX))
        .fold(0.0, f64::max);
    let caption_h = if labels.x.is_empty() {
        0.0
    } else {
        TICK_PX + 4.0
    };
    let y1 = h - PAD - caption_h - TICK_PX - 6.0;
    let n = x_labels.len().max(1);
    // The first and last labels are centred on their slot and must stay inside the viewBox.
    let mut x0 = PAD + tick_w + 8.0;
    let mut x1 = w - PAD;
    for _ in 0..2 {
        let slot = (x1 - x0) / n as f64;
        let overhang = label_w / 2.0 - slot / 2.0 + 2.0;
        x0 = x0.max(overhang);
        x1 = x1.min(w - overhang);
    }
    let frame = Frame {
        x0,
        y0,
        x1,
        y1,
        n,
        top,
    };

    for (v, text) in &ticks {
        let y = frame.y(*v);
        if *v > 0.0 {
            p.line(&[(x0, y), (x1, y)], GRID, 1, false);
        }
        p.text(
            text,
            (x0 - 6.0, y),
            TextSpec::small(HPos::Right, VPos::Center),
        );
    }
    p.line(&[(x0, y1), (x1, y1)], AXIS, 1, false);
    let k = x_label_step(frame.slot(), label_w);
    for i in (0..x_labels.len()).step_by(k) {
        let cx = frame.cx(i);
        p.line(&[(cx, y1), (cx, y1 + 3.0)], AXIS, 1, false);
        p.text(
            &shown[i],
            (cx, y1 + 6.0),
            TextSpec::small(HPos::Center, VPos::Top),
        );
    }
    let caption = fit_text(&labels.x, TICK_PX, w / 2.0);
    p.text(
        &caption,
        (x1, y1 + 6.0 + TICK_PX + 4.0),
        TextSpec::small(HPos::Right, VPos::Top),
    );
    frame
}

/// One series as a line, broken where values are missing; lone points and, when the buckets
/// are wide enough, every point get a dot.
fn draw_line_series(p: &Painter, frame: &Frame, values: &[f64], colour: RGBColor, dashed: bool) {
    let points: Vec<Option<(f64, f64)>> = (0..frame.n)
        .map(|i| value_at(values, i).map(|v| (frame.cx(i), frame.y(v))))
        .collect();
    let dots = frame.slot() >= 14.0;
    for run in points.split(Option::is_none) {
        let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
        if run.len() > 1 {
            p.line(&run, colour, 2, dashed);
        }
        if run.len() == 1 || dots {
            for pt in &run {
                p.dot(*pt, if dots { 2.5 } else { 3.0 }, colour);
            }
        }
    }
}

fn draw_title(p: &Painter, title: &str) {
    let title = fit_text(title, TITLE_PX, f64::from(WIDTH) - 2.0 * PAD);
    let spec = TextSpec {
        px: TITLE_PX,
        bold: true,
        ..TextSpec::small(HPos::Left, VPos::Top).ink()
    };
    p.text(&title, (PAD, PAD), spec);
}

fn hatched(p: &Painter, a: (f64, f64), b: (f64, f64)) {
    p.rect(a, b, NO_DATA);
    p.line(&[(a.0, b.1), (b.0, a.1)], NO_DATA_HATCH, 1, false);
}

fn empty_chart(labels: &Labels, width: u32, height: u32) -> String {
    render(width, height, &labels.title, |p| {
        draw_title(p, &labels.title);
        let (w, h) = (f64::from(width), f64::from(height));
        let message = fit_text(&labels.empty, EMPTY_PX, w - 2.0 * PAD);
        let spec = TextSpec {
            px: EMPTY_PX,
            ..TextSpec::small(HPos::Center, VPos::Center)
        };
        p.text(&message, (w / 2.0, (header_height() + h) / 2.0), spec);
    })
}

// ---------------------------------------------------------------------------------------------
// Drawing with plotters, and the SVG around it

#[derive(Clone, Copy)]
struct TextSpec {
    px: f64,
    colour: RGBColor,
    h: HPos,
    v: VPos,
    bold: bool,
}

impl TextSpec {
    /// Axis-sized muted text.
    fn small(h: HPos, v: VPos) -> Self {
        TextSpec {
            px: TICK_PX,
            colour: MUTED,
            h,
            v,
            bold: false,
        }
    }
    fn ink(self) -> Self {
        TextSpec {
            colour: INK,
            ..self
        }
    }
}

struct Painter<'a> {
    area: DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
}

fn px(p: (f64, f64)) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

// Drawing into a String cannot fail (the SVG backend only fails on file I/O), so the results
// of `draw` are dropped.
impl Painter<'_> {
    fn text(&self, s: &str, at: (f64, f64), spec: TextSpec) {
        if s.is_empty() {
            return;
        }
        let style = if spec.bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        let font = FontDesc::new(
            FontFamily::Name(FONT_FAMILY),
            spec.px * PLOTTERS_FONT_SCALE,
            style,
        );
        let text_style = TextStyle {
            font,
            color: spec.colour.to_backend_color(),
            pos: Pos::new(spec.h, spec.v),
        };
        let _ = self.area.draw(&Text::new(s, px(at), text_style));
    }

    fn rect(&self, a: (f64, f64), b: (f64, f64), colour: RGBColor) {
        let _ = self
            .area
            .draw(&Rectangle::new([px(a), px(b)], colour.filled()));
    }

    fn line(&self, points: &[(f64, f64)], colour: RGBColor, width: u32, dashed: bool) {
        let points: Vec<(i32, i32)> = points.iter().copied().map(px).collect();
        let style = colour.stroke_width(width);
        if dashed {
            let _ = self.area.draw(&DashedPathElement::new(points, 6, 4, style));
        } else {
            let _ = self.area.draw(&PathElement::new(points, style));
        }
    }

    fn dot(&self, at: (f64, f64), r: f64, colour: RGBColor) {
        let _ = self
            .area
            .draw(&Circle::new(px(at), r.round() as i32, colour.filled()));
    }
}

/// One district on [`district_map`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapDistrict {
    pub name: String,
    pub value: f64,
    /// Where a click leads (the list behind the figure).
    pub href: String,
}

/// Side of a unit-grid cell on [`district_map`], in SVG units.
pub const MAP_CELL: u32 = 20;

/// The unit grids as a map, each district shaded by its value (pale to deep, the deepest at
/// the largest value) and drawn as one link, with its name and value at its centre and a white
/// border between districts. `cells` are (column, row, district index) with row 0 at the
/// south; `districts` are indexed by that district index. Written by hand (rectangles, lines
/// and text): plotters has no links.
pub fn district_map(
    title: &str,
    unit: &str,
    cells: &[(i64, i64, usize)],
    districts: &[MapDistrict],
) -> String {
    let cols = cells.iter().map(|c| c.0).max().unwrap_or(0) + 1;
    let rows = cells.iter().map(|c| c.1).max().unwrap_or(0) + 1;
    let s = MAP_CELL as i64;
    let legend_h = 40;
    let (w, h) = (cols * s, rows * s + legend_h);
    let max = districts.iter().map(|d| d.value).fold(0.0, f64::max);
    let shade = |v: f64| -> RGBColor {
        let t = if max > 0.0 {
            (v / max).clamp(0.0, 1.0).sqrt()
        } else {
            0.0
        };
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        RGBColor(lerp(0xe6, 0x1d), lerp(0xee, 0x4f), lerp(0xf8, 0x91))
    };
    let hex = |c: RGBColor| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
    let y = |row: i64| (rows - 1 - row) * s;
    let title_x = escape_xml(title);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
         role=\"group\" aria-label=\"{title_x}\" class=\"chart district-map\" font-family=\"{FONT_FAMILY}\">\n<title>{title_x}</title>\n"
    );
    let at: std::collections::HashMap<(i64, i64), usize> =
        cells.iter().map(|c| ((c.0, c.1), c.2)).collect();
    for (i, d) in districts.iter().enumerate() {
        let mine: Vec<_> = cells.iter().filter(|c| c.2 == i).collect();
        if mine.is_empty() {
            continue;
        }
        let label = format!("{}: {}", d.name, with_unit(&compact(d.value), unit));
        out.push_str(&format!(
            "<a href=\"{}\" aria-label=\"{}\" data-district=\"{i}\"><title>{}</title>",
            escape_xml(&d.href),
            escape_xml(&label),
            escape_xml(&label)
        ));
        let fill = hex(shade(d.value));
        for c in &mine {
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{s}\" height=\"{s}\" fill=\"{fill}\" shape-rendering=\"crispEdges\"/>",
                c.0 * s,
                y(c.1)
            ));
        }
        out.push_str("</a>\n");
    }
    // Borders between districts.
    out.push_str("<g stroke=\"#ffffff\" stroke-width=\"2\">");
    for &(col, row, d) in cells {
        if at.get(&(col + 1, row)).is_some_and(|&o| o != d) {
            let x = (col + 1) * s;
            out.push_str(&format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>",
                y(row),
                y(row) + s
            ));
        }
        if at.get(&(col, row + 1)).is_some_and(|&o| o != d) {
            let yy = y(row);
            out.push_str(&format!(
                "<line x1=\"{}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\"/>",
                col * s,
                col * s + s
            ));
        }
    }
    out.push_str("</g>\n");
    // Names and values at each district's centre, light on deep shades and dark on pale.
    for (i, d) in districts.iter().enumerate() {
        let mine: Vec<_> = cells.iter().filter(|c| c.2 == i).collect();
        if mine.is_empty() {
            continue;
        }
        let n = mine.len() as f64;
        let cx = mine
            .iter()
            .map(|c| (c.0 as f64 + 0.5) * s as f64)
            .sum::<f64>()
            / n;
        let cy = mine
            .iter()
            .map(|c| y(c.1) as f64 + s as f64 / 2.0)
            .sum::<f64>()
            / n;
        let deep = max > 0.0 && d.value / max > 0.35;
        let (fg, halo) = if deep {
            ("#ffffff", "#1d4f91")
        } else {
            ("#1b2a3a", "#e6eef8")
        };
        out.push_str(&format!(
            "<text x=\"{cx:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"600\" fill=\"{fg}\" \
             stroke=\"{halo}\" stroke-width=\"3\" paint-order=\"stroke\" pointer-events=\"none\">{}</text>\
             <text x=\"{cx:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"15\" fill=\"{fg}\" \
             stroke=\"{halo}\" stroke-width=\"3\" paint-order=\"stroke\" pointer-events=\"none\">{}</text>\n",
            cy - 4.0,
            escape_xml(&d.name),
            cy + 14.0,
            escape_xml(&with_unit(&compact(d.value), unit))
        ));
    }
    // Legend: five steps from 0 to the largest value.
    let ly = rows * s + 12;
    for k in 0..5 {
        let v = max * k as f64 / 4.0;
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{ly}\" width=\"28\" height=\"12\" fill=\"{}\"/>",
            k * 28,
            hex(shade(v))
        ));
    }
    out.push_str(&format!(
        "<text x=\"0\" y=\"{}\" font-size=\"11\" fill=\"#555555\">0</text>\
         <text x=\"140\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"#555555\">{}</text>\n</svg>",
        ly + 26,
        ly + 26,
        escape_xml(&with_unit(&compact(max), unit))
    ));
    out
}

/// Draws with plotters into a string and turns plotters' document into the inline element.
fn render(width: u32, height: u32, title: &str, draw: impl FnOnce(&Painter)) -> String {
    let mut raw = String::new();
    {
        let painter = Painter {
            area: SVGBackend::with_string(&mut raw, (width, height)).into_drawing_area(),
        };
        draw(&painter);
        let _ = painter.area.present();
    }
    finish(&raw, width, height, title)
}

/// Replaces plotters' root (fixed width and height) with one that scales and names the chart,
/// sets the font family once instead of on every text, rounds font sizes and removes anything
/// the Content-Security-Policy would block.
fn finish(raw: &str, width: u32, height: u32, title: &str) -> String {
    let body = raw.split_once('\n').map_or("", |(_, rest)| rest);
    let title = escape_xml(title);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" \
         role=\"img\" aria-label=\"{title}\" class=\"chart\" font-family=\"{FONT_FAMILY}\">\n<title>{title}</title>\n"
    );
    let family = format!(" font-family=\"{FONT_FAMILY}\"");
    out.push_str(&body.replace(&family, "").replace(" opacity=\"1\"", ""));
    strip_styles(round_font_sizes(&out))
}

fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `font-size="11.999999"` (plotters divides by 1.24) to `font-size="12"`.
fn round_font_sizes(svg: &str) -> String {
    const KEY: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(i) = rest.find(KEY) {
        out.push_str(&rest[..i + KEY.len()]);
        rest = &rest[i + KEY.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        match rest[..end].parse::<f64>() {
            Ok(v) => {
                let s = format!("{v:.1}");
                out.push_str(s.strip_suffix(".0").unwrap_or(&s));
            }
            Err(_) => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Removes `<style>` elements and `style="…"` attributes. plotters writes neither today; this
/// keeps a future version from breaking the page's Content-Security-Policy.
fn strip_styles(mut svg: String) -> String {
    while let Some(i) = svg.find("<style") {
        let end = svg[i..]
            .find("</style>")
            .map(|e| i + e + "</style>".len())
            .or_else(|| svg[i..].find("/>").map(|e| i + e + 2))
            .unwrap_or(svg.len());
        svg.replace_range(i..end, "");
    }
    while let Some(i) = svg.find(" style=\"") {
        let start = i + " style=\"".len();
        let end = svg[start..].find('"').map_or(svg.len(), |e| start + e + 1);
        svg.replace_range(i..end, "");
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn district_map_links_and_shades_each_district() {
        // Two districts side by side, 2 x 1 cells each.
        let cells = [(0, 0, 0), (1, 0, 0), (2, 0, 1), (3, 0, 1)];
        let d = [
            MapDistrict {
                name: "小店区".into(),
                value: 0.0,
                href: "/cases?district=1&a=b".into(),
            },
            MapDistrict {
                name: "迎泽区".into(),
                value: 12.0,
                href: "/cases?district=2".into(),
            },
        ];
        let svg = district_map("地图", "", &cells, &d);
        assert_eq!(svg.matches("<a href=").count(), 2);
        assert!(svg.contains("href=\"/cases?district=1&amp;a=b\""));
        // The empty district is the palest shade, the largest the deepest.
        assert!(svg.contains("fill=\"#e6eef8\""));
        assert!(svg.contains("fill=\"#1d4f91\""));
        // One border, between columns 1 and 2.
        assert_eq!(svg.matches("<line ").count(), 1);
        assert!(svg.contains("迎泽区: 12"));
        assert!(!svg.contains("style="));
    }

    fn labels(title: &str) -> Labels {
        Labels {
            title: title.into(),
            x: "日期".into(),
            y: "kWh".into(),
            empty: "暂无数据".into(),
        }
    }

    fn en_labels(title: &str) -> Labels {
        Labels {
            title: title.into(),
            x: "Date".into(),
            y: "kWh".into(),
            empty: "No data".into(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const DISTRICTS_ZH: [&str; 10] = [
        "小店区",
        "迎泽区",
        "杏花岭区",
        "尖草坪区",
        "万柏林区",
        "晋源区",
        "古交市",
        "清徐县",
        "阳曲县",
        "娄烦县",
    ];
    const DISTRICTS_EN: [&str; 10] = [
        "Xiaodian",
        "Yingze",
        "Xinghualing",
        "Jiancaoping",
        "Wanbailin",
        "Jinyuan",
        "Gujiao",
        "Qingxu",
        "Yangqu",
        "Loufan",
    ];

    fn days(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{:02}-{:02}", 1 + i / 28 % 12, 1 + i % 28))
            .collect()
    }

    fn district_series(names: &[&str], n: usize) -> Vec<Series> {
        names
            .iter()
            .enumerate()
            .map(|(d, name)| Series {
                name: name.to_string(),
                values: (0..n)
                    .map(|i| 800.0 + 300.0 * d as f64 + 150.0 * ((i + d) % 7) as f64)
                    .collect(),
            })
            .collect()
    }

    fn heat_values(rows: usize) -> Vec<Vec<Option<f64>>> {
        (0..rows)
            .map(|r| {
                (0..24)
                    .map(|h| {
                        (r + h != 12 && r != 4)
                            .then_some(200.0 + 40.0 * (13.0 - (h as f64 - 13.0).abs()) + r as f64)
                    })
                    .collect()
            })
            .collect()
    }

    /// Every chart kind once in Chinese and once in English.
    fn all_charts() -> Vec<(&'static str, String)> {
        let zh = labels("各区日用电量（kWh）");
        let en = en_labels("Daily electricity by district (kWh)");
        let long_zh = strings(&[
            "太原市小店区长治路街道综合能源服务中心一号楼",
            "迎泽区政府机关办公楼",
            "万柏林区第一人民医院",
            "杏花岭区",
        ]);
        let long_en = strings(&[
            "Xiaodian District Changzhi Road Integrated Energy Service Centre Building 1",
            "Yingze District Government Offices",
            "Wanbailin No. 1 People's Hospital",
            "Xinghualing",
        ]);
        let rows_zh: Vec<String> = (0..7)
            .map(|d| {
                format!(
                    "11-{:02} 周{}",
                    d + 2,
                    "一二三四五六日".chars().nth(d).unwrap()
                )
            })
            .collect();
        let rows_en: Vec<String> = (0..7)
            .map(|d| {
                format!(
                    "Nov {} {}",
                    d + 2,
                    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d]
                )
            })
            .collect();
        let cur = Series {
            name: "本期".into(),
            values: (0..30).map(|i| 1000.0 + 40.0 * (i % 9) as f64).collect(),
        };
        let prev = Series {
            name: "上期".into(),
            values: (0..30).map(|i| 950.0 + 35.0 * (i % 5) as f64).collect(),
        };
        let cur_en = Series {
            name: "This month".into(),
            ..cur.clone()
        };
        let prev_en = Series {
            name: "Last month".into(),
            ..prev.clone()
        };
        vec![
            (
                "time_series_zh",
                time_series(&zh, &days(365), &district_series(&DISTRICTS_ZH[..3], 365)),
            ),
            (
                "time_series_en",
                time_series(&en, &days(365), &district_series(&DISTRICTS_EN[..3], 365)),
            ),
            (
                "stacked_zh",
                stacked_bars(&zh, &days(31), &district_series(&DISTRICTS_ZH, 31)),
            ),
            (
                "stacked_en",
                stacked_bars(&en, &days(31), &district_series(&DISTRICTS_EN, 31)),
            ),
            (
                "heatmap_zh",
                heatmap(&labels("小时用电热力图"), &rows_zh, &heat_values(7)),
            ),
            (
                "heatmap_en",
                heatmap(&en_labels("Hourly electricity"), &rows_en, &heat_values(7)),
            ),
            (
                "top_zh",
                top_bars(
                    &labels("用能大户"),
                    &long_zh,
                    &[123_456.0, 98_000.0, 5_432.1, 12.0],
                ),
            ),
            (
                "top_en",
                top_bars(
                    &en_labels("Top consumers"),
                    &long_en,
                    &[123_456.0, 98_000.0, 5_432.1, 12.0],
                ),
            ),
            ("compare_zh", compare(&zh, &days(30), &cur, &prev)),
            ("compare_en", compare(&en, &days(30), &cur_en, &prev_en)),
        ]
    }

    /// Checks that tags nest and close; returns the names of the opened elements in order.
    fn check_well_formed(svg: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut opened = Vec::new();
        let mut rest = svg.trim();
        assert!(
            rest.starts_with("<svg "),
            "must start with <svg: {}",
            &rest[..20.min(rest.len())]
        );
        while let Some(i) = rest.find('<') {
            assert!(!rest[..i].contains('>'), "stray > in text");
            let end = rest[i..].find('>').expect("unclosed tag") + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "< inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched close"
                );
            } else {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                assert_eq!(
                    tag.matches('"').count() % 2,
                    0,
                    "unbalanced quotes in <{tag}>"
                );
                opened.push(name.clone());
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &rest[end + 1..];
            if stack.is_empty() {
                assert!(rest.trim().is_empty(), "content after the root element");
            }
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        opened
    }

    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let key = format!(" {name}=\"");
        let start = tag.find(&key)? + key.len();
        Some(&tag[start..start + tag[start..].find('"')?])
    }

    fn view_box(svg: &str) -> (f64, f64) {
        let root = &svg[..svg.find('>').unwrap()];
        let v: Vec<f64> = attr(root, "viewBox")
            .unwrap()
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect();
        (v[2], v[3])
    }

    #[derive(Debug)]
    struct Placed {
        text: String,
        y_key: String,
        left: f64,
        right: f64,
        top: f64,
        bottom: f64,
    }

    /// Every `<text>` with its estimated box.
    fn texts(svg: &str) -> Vec<Placed> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find("<text ") {
            let after = &rest[i..];
            let end = after.find('>').unwrap();
            let close = after.find("</text>").unwrap();
            let tag = &after[..end];
            let text = after[end + 1..close]
                .trim()
                .replace("&amp;", "&")
                .replace("&apos;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">");
            let num = |n: &str| attr(tag, n).unwrap().parse::<f64>().unwrap();
            let (x, y, size) = (num("x"), num("y"), num("font-size"));
            let w = text_width(&text, size);
            let left = match attr(tag, "text-anchor").unwrap() {
                "start" => x,
                "middle" => x - w / 2.0,
                "end" => x - w,
                other => panic!("anchor {other}"),
            };
            let dy = attr(tag, "dy").unwrap();
            let (top, bottom) = match dy {
                "0.76em" => (y, y + size),
                "0.5ex" => (y - size / 2.0, y + size / 2.0),
                _ => (y - size, y),
            };
            out.push(Placed {
                text,
                y_key: format!("{y}/{dy}"),
                left,
                right: left + w,
                top,
                bottom,
            });
            rest = &after[close..];
        }
        out
    }

    /// Every text inside the viewBox, and no two texts on the same line overlapping.
    fn check_labels_fit(name: &str, svg: &str) {
        let (w, h) = view_box(svg);
        let placed = texts(svg);
        assert!(!placed.is_empty());
        for t in &placed {
            assert!(
                t.left >= 0.0 && t.right <= w,
                "{name}: {:?} outside 0..{w}",
                t
            );
            assert!(
                t.top >= 0.0 && t.bottom <= h,
                "{name}: {:?} outside 0..{h}",
                t
            );
        }
        for a in &placed {
            for b in &placed {
                if std::ptr::eq(a, b) || a.y_key != b.y_key {
                    continue;
                }
                let overlap = a.left < b.right - 0.5 && b.left < a.right - 0.5;
                assert!(!overlap, "{name}: {:?} overlaps {:?}", a, b);
            }
        }
    }

    #[test]
    fn text_width_counts_wide_characters_as_one_em() {
        assert_eq!(text_width("小店区", 12.0), 36.0);
        assert_eq!(text_width("", 12.0), 0.0);
        assert!((text_width("abc", 10.0) - 16.5).abs() < 1e-9);
        assert!((text_width("11-03 周二", 10.0) - (6.0 * 5.5 + 20.0)).abs() < 1e-9);
        assert!(text_width("Xinghualing", 12.0) > text_width("xinghualing", 12.0));
        assert_eq!(text_width("…", 10.0), 10.0);
        assert_eq!(text_width("ＡＢ", 10.0), 20.0);
    }

    #[test]
    fn fit_text_cuts_with_an_ellipsis() {
        assert_eq!(fit_text("小店区", 12.0, 36.0), "小店区");
        let cut = fit_text("太原市小店区长治路街道综合能源服务中心", 12.0, 100.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(text_width(&cut, 12.0) <= 100.0);
        assert_eq!(cut, "太原市小店区长…");
        let cut = fit_text("Xiaodian District Integrated Energy Centre", 12.0, 90.0);
        assert!(
            cut.ends_with('…') && text_width(&cut, 12.0) <= 90.0,
            "{cut}"
        );
        assert!(!cut.contains(" …"), "no space before the ellipsis: {cut}");
    }

    #[test]
    fn numbers_are_compact() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (5.0, "5"),
            (12.5, "12.5"),
            (999.0, "999"),
            (999.7, "1k"),
            (1000.0, "1k"),
            (1250.0, "1.25k"),
            (12_345.0, "12.3k"),
            (999_999.0, "1M"),
            (3_400_000.0, "3.4M"),
            (2.5e9, "2.5G"),
            (0.25, "0.25"),
            (0.002, "0.002"),
            (-1500.0, "-1.5k"),
        ];
        for (v, want) in cases {
            assert_eq!(compact(v), want, "{v}");
        }
        assert_eq!(compact(f64::NAN), "–");
    }

    #[test]
    fn axis_is_nice_and_covers_the_maximum() {
        assert_eq!(nice_axis(0.0), (1.0, 0.25));
        assert_eq!(nice_axis(f64::NAN), (1.0, 0.25));
        assert_eq!(nice_axis(100.0), (100.0, 20.0));
        assert_eq!(nice_axis(1234.0), (1250.0, 250.0));
        assert_eq!(nice_axis(3.7e6), (4e6, 1e6));
        for max in [0.3, 7.0, 49.9, 51.0, 987.0, 12_345.0, 9.9e8] {
            let (top, step) = nice_axis(max);
            assert!(
                top >= max && top / step <= 8.0 && top / step >= 3.0,
                "{max}: {top} {step}"
            );
        }
    }

    #[test]
    fn x_label_step_keeps_labels_apart() {
        assert_eq!(x_label_step(30.0, 12.0), 1);
        assert_eq!(x_label_step(20.0, 30.0), 2);
        assert_eq!(x_label_step(2.0, 30.0), 24);
        assert_eq!(x_label_step(0.0, 30.0), 1);
        for slot in [1.0, 2.1, 5.0, 9.9, 17.0, 40.0] {
            for w in [10.0, 33.0, 66.0, 110.0] {
                let k = x_label_step(slot, w);
                assert!(
                    k as f64 * slot >= w + LABEL_GAP,
                    "slot {slot} width {w}: step {k}"
                );
            }
        }
    }

    #[test]
    fn legend_wraps_inside_the_width() {
        let texts: Vec<String> = DISTRICTS_EN.iter().map(|s| s.to_string()).collect();
        let (places, rows) = legend_layout(&texts, PAD, 400.0);
        assert!(rows > 1);
        for ((x, _), t) in places.iter().zip(&texts) {
            assert!(
                *x >= PAD && x + SWATCH_W + SWATCH_GAP + text_width(t, TEXT_PX) <= 400.0,
                "{t}"
            );
        }
        assert_eq!(legend_layout(&[], PAD, 400.0).1, 0);
    }

    #[test]
    fn every_chart_is_well_formed_accessible_and_free_of_styles() {
        for (name, svg) in all_charts() {
            let elements = check_well_formed(&svg);
            assert_eq!(elements[0], "svg", "{name}");
            assert_eq!(elements.iter().filter(|e| *e == "svg").count(), 1, "{name}");
            assert!(!svg.contains("style="), "{name} has a style attribute");
            assert!(!svg.contains("<style"), "{name} has a style element");
            let root = &svg[..svg.find('>').unwrap()];
            assert!(root.contains(" viewBox=\"0 0 800 "), "{name}");
            assert_eq!(attr(root, "width"), Some("100%"), "{name}");
            assert_eq!(attr(root, "height"), None, "{name}");
            assert_eq!(attr(root, "role"), Some("img"), "{name}");
            assert!(
                attr(root, "aria-label").is_some_and(|t| !t.is_empty()),
                "{name}"
            );
            assert!(
                svg.contains(&format!(
                    "<title>{}</title>",
                    attr(root, "aria-label").unwrap()
                )),
                "{name}"
            );
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
            assert_eq!(
                svg.matches("font-family=").count(),
                1,
                "{name}: family set once on the root"
            );
        }
    }

    #[test]
    fn every_label_fits_and_none_overlap() {
        for (name, svg) in all_charts() {
            check_labels_fit(name, &svg);
        }
    }

    #[test]
    fn legends_name_every_series() {
        let zh = labels("各区用电");
        let series = district_series(&DISTRICTS_ZH, 12);
        let months: Vec<String> = (1..=12).map(|m| format!("{m}月")).collect();
        for svg in [
            time_series(&zh, &months, &series),
            stacked_bars(&zh, &months, &series),
        ] {
            let shown: Vec<String> = texts(&svg).into_iter().map(|t| t.text).collect();
            for d in DISTRICTS_ZH {
                assert!(shown.iter().any(|t| t == d), "legend misses {d}");
            }
            for (i, c) in PALETTE.iter().enumerate() {
                let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
                assert!(svg.contains(&hex), "colour {i} {hex} missing");
            }
            assert!(
                shown.iter().any(|t| t == "1月") && shown.iter().any(|t| t == "12月"),
                "{shown:?}"
            );
        }
    }

    #[test]
    fn comparison_legend_gives_names_and_totals() {
        let l = en_labels("This week against last week");
        let x = strings(&["Mon", "Tue", "Wed"]);
        let cur = Series {
            name: "This week".into(),
            values: vec![1000.0, 2000.0, 500.0],
        };
        let prev = Series {
            name: "Last week".into(),
            values: vec![800.0, f64::NAN, 400.0],
        };
        let svg = compare(&l, &x, &cur, &prev);
        let shown: Vec<String> = texts(&svg).into_iter().map(|t| t.text).collect();
        assert!(
            shown.contains(&"This week 3.5k kWh".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"Last week 1.2k kWh".to_string()),
            "{shown:?}"
        );
        // The previous period is dashed: drawn as many short pieces.
        let (_, svg) = all_charts()
            .into_iter()
            .find(|(n, _)| *n == "compare_en")
            .unwrap();
        let orange = svg.matches("stroke=\"#E69F00\"").count();
        assert!(orange > 5, "dashed line expected, {orange} pieces");
    }

    #[test]
    fn empty_data_draws_the_message() {
        let l = labels("标题");
        let none: Vec<String> = Vec::new();
        let nan = Series {
            name: "小店区".into(),
            values: vec![f64::NAN; 3],
        };
        let x3 = strings(&["1", "2", "3"]);
        let charts = [
            time_series(&l, &none, &[]),
            time_series(&l, &x3, &[]),
            time_series(&l, &x3, std::slice::from_ref(&nan)),
            stacked_bars(&l, &none, std::slice::from_ref(&nan)),
            stacked_bars(&l, &x3, std::slice::from_ref(&nan)),
            heatmap(&l, &[], &[]),
            heatmap(&l, &strings(&["11-03 周二"]), &[vec![None; 24]]),
            top_bars(&l, &[], &[]),
            top_bars(&l, &strings(&["小店区"]), &[f64::NAN]),
            compare(&l, &none, &nan, &nan),
            compare(&l, &x3, &nan, &nan),
        ];
        for svg in charts {
            check_well_formed(&svg);
            assert!(svg.contains(">\n暂无数据\n</text>"), "{svg}");
            assert!(svg.contains("<title>标题</title>"));
            check_labels_fit("empty", &svg);
        }
    }

    #[test]
    fn odd_values_and_single_buckets_work() {
        let l = labels("单日");
        let one = strings(&["11-03"]);
        let s = Series {
            name: "小店区".into(),
            values: vec![42.0],
        };
        let svg = time_series(&l, &one, std::slice::from_ref(&s));
        assert!(svg.contains("<circle"), "a lone point is drawn as a dot");
        assert!(!svg.contains("暂无数据"));
        let svg = stacked_bars(&l, &one, std::slice::from_ref(&s));
        assert!(svg.contains("fill=\"#0072B2\""));
        // Negative, NaN, infinite, missing and surplus values.
        let weird = Series {
            name: "x".into(),
            values: vec![-5.0, f64::NAN, f64::INFINITY, 10.0, 1.0, 99.0],
        };
        let x4 = strings(&["a", "b", "c", "d"]);
        for svg in [
            time_series(&l, &x4, std::slice::from_ref(&weird)),
            stacked_bars(&l, &x4, std::slice::from_ref(&weird)),
            compare(&l, &x4, &weird, &s),
            top_bars(&l, &x4, &weird.values),
        ] {
            check_well_formed(&svg);
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
            assert!(!svg.contains(">\n99\n<"), "surplus value drawn");
            check_labels_fit("weird", &svg);
        }
        // All zero: an axis from 0 to 1, no bars.
        let zero = Series {
            name: "0".into(),
            values: vec![0.0; 4],
        };
        let svg = stacked_bars(&l, &x4, &[zero]);
        assert!(!svg.contains("暂无数据") && svg.contains(">\n1\n</text>"));
        // A single heatmap cell, and rows shorter than 24 hours.
        let svg = heatmap(&l, &strings(&["11-03 周二"]), &[vec![Some(3.0)]]);
        check_well_formed(&svg);
        assert!(svg.contains(">\n3 kWh\n</text>"), "max with unit");
        assert!(svg.contains("暂无数据"), "the hatched swatch is named");
    }

    #[test]
    fn many_buckets_thin_the_labels() {
        let l = en_labels("Hourly");
        let hours: Vec<String> = (0..24 * 31)
            .map(|h| {
                format!(
                    "{:02}-{:02} {:02}:00",
                    1 + h / 24 / 28,
                    1 + h / 24 % 28,
                    h % 24
                )
            })
            .collect();
        let s = Series {
            name: "Grid".into(),
            values: (0..hours.len()).map(|i| (i % 24) as f64 * 10.0).collect(),
        };
        let svg = time_series(&l, &hours, &[s]);
        let drawn = texts(&svg)
            .iter()
            .filter(|t| hours.contains(&t.text))
            .count();
        assert!((3..=12).contains(&drawn), "{drawn} labels drawn");
        check_labels_fit("hourly", &svg);
    }

    #[test]
    fn heatmap_height_follows_rows() {
        let l = labels("热力图");
        let rows: Vec<String> = (0..30).map(|d| format!("11-{:02} 周二", d + 1)).collect();
        let (_, h7) = view_box(&heatmap(&l, &rows[..7], &heat_values(7)));
        let (_, h30) = view_box(&heatmap(&l, &rows, &heat_values(30)));
        assert_eq!(h30 - h7, 23.0 * f64::from(HEATMAP_ROW));
        let svg = heatmap(&l, &rows, &heat_values(30));
        check_labels_fit("heatmap30", &svg);
        // Lowest and highest values use the ends of the scale.
        let (lo, hi) = (SCALE[0], SCALE[SCALE.len() - 1]);
        assert!(svg.contains(&format!("#{:02X}{:02X}{:02X}", lo.0, lo.1, lo.2)));
        assert!(svg.contains(&format!("#{:02X}{:02X}{:02X}", hi.0, hi.1, hi.2)));
    }

    #[test]
    fn top_bars_cut_long_names_and_keep_values_visible() {
        let (_, svg) = all_charts()
            .into_iter()
            .find(|(n, _)| *n == "top_zh")
            .unwrap();
        let shown: Vec<String> = texts(&svg).into_iter().map(|t| t.text).collect();
        assert!(
            shown
                .iter()
                .any(|t| t.starts_with("太原市小店区") && t.ends_with('…')),
            "{shown:?}"
        );
        assert!(shown.contains(&"迎泽区政府机关办公楼".to_string()));
        for v in ["123k", "98k", "5.43k", "12"] {
            assert!(shown.contains(&v.to_string()), "{v} in {shown:?}");
        }
    }

    #[test]
    fn output_is_deterministic_and_escaped() {
        let a: Vec<String> = all_charts().into_iter().map(|(_, s)| s).collect();
        let b: Vec<String> = all_charts().into_iter().map(|(_, s)| s).collect();
        assert_eq!(a, b);
        let l = Labels {
            title: "A & B <\"x\">".into(),
            ..en_labels("")
        };
        let svg = top_bars(&l, &strings(&["Tom's <shop>"]), &[1.0]);
        check_well_formed(&svg);
        assert!(svg.contains("aria-label=\"A &amp; B &lt;&quot;x&quot;&gt;\""));
        assert!(svg.contains("Tom&apos;s &lt;shop&gt;"));
    }

    #[test]
    fn styles_are_stripped() {
        let dirty = "<svg><style>text{fill:red}</style><rect style=\"fill:red\" x=\"1\"/></svg>"
            .to_string();
        assert_eq!(strip_styles(dirty), "<svg><rect x=\"1\"/></svg>");
        assert_eq!(
            round_font_sizes("font-size=\"11.999999999\" font-size=\"9.26\""),
            "font-size=\"12\" font-size=\"9.3\""
        );
    }
}
