//! Line charts with axes and units for the stats page: p50 and p95 of a duration per minute over
//! a window, the y axis in ms or s with four ticks, the x axis in UTC times. Plain SVG, no
//! script; every point has a title the browser shows on hover.

use super::html::{dur, time};
use std::fmt::Write;

/// One minute's p50 and p95 (ms), when there were samples.
pub struct Point {
    pub minute: i64,
    pub p50: Option<i64>,
    pub p95: Option<i64>,
}

/// A ceiling for the y axis that divides into four round ticks: 1, 2, 4, 5 or 8 times a power of
/// ten, at least 4 (ms).
fn nice_max(max: i64) -> i64 {
    let mut power = 1i64;
    loop {
        for m in [1, 2, 4, 5, 8] {
            let ceiling = m * power;
            if ceiling >= max.max(4) {
                return ceiling;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// The chart `id` of `points` between `start` and `end` (epoch ms), titled `label`.
pub fn latency(id: &str, label: &str, points: &[Point], start: i64, end: i64) -> String {
    let (w, h, left, bottom, top) = (640.0, 150.0, 56.0, 22.0, 8.0);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let max = nice_max(
        points
            .iter()
            .filter_map(|p| p.p95.or(p.p50))
            .max()
            .unwrap_or(0),
    );
    let span = (end - start).max(60_000) as f64;
    let x = |t: i64| left + (t - start) as f64 / span * plot_w;
    let y = |v: i64| top + plot_h - v as f64 / max as f64 * plot_h;
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"latency\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}: p50 and p95 per minute\">"
    );
    for i in 0..=4 {
        let v = max * i / 4;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e3e6ea\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - 8.0,
            left - 4.0,
            yy + 3.0,
            dur(v)
        );
    }
    for i in 0..=4 {
        let t = start + (end - start) * i / 4;
        let stamp = time(t);
        // The end labels stay inside the frame.
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{} UTC</text>",
            x(t),
            h - 6.0,
            stamp.get(11..16).unwrap_or(&stamp)
        );
    }
    for (class, pick) in [
        ("p95", (|p: &Point| p.p95) as fn(&Point) -> Option<i64>),
        ("p50", |p: &Point| p.p50),
    ] {
        let pts: Vec<String> = points
            .iter()
            .filter_map(|p| pick(p).map(|v| format!("{:.1},{:.1}", x(p.minute + 30_000), y(v))))
            .collect();
        if !pts.is_empty() {
            let _ = write!(
                svg,
                "<polyline class=\"{class}\" stroke-width=\"1.5\" points=\"{}\"/>",
                pts.join(" ")
            );
        }
        for p in points {
            if let Some(v) = pick(p) {
                let stamp = time(p.minute);
                let _ = write!(
                    svg,
                    "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\"><title>{} UTC — {class} {}</title></circle>",
                    x(p.minute + 30_000),
                    y(v),
                    stamp.get(11..16).unwrap_or(&stamp),
                    dur(v)
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{}\" font-weight=\"600\">{label}</text></svg>\
         <p class=\"legend\"><span style=\"color:#1f6feb\">—</span> p50 \
         <span style=\"color:#ef6c00\">—</span> p95, per minute</p>",
        top + 4.0
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_axis_ceilings() {
        assert_eq!(nice_max(0), 4);
        assert_eq!(nice_max(7), 8);
        assert_eq!(nice_max(90), 100);
        assert_eq!(nice_max(1234), 2000);
    }

    #[test]
    fn a_chart_has_axes_units_and_both_lines() {
        let points = [
            Point {
                minute: 60_000,
                p50: Some(40),
                p95: Some(90),
            },
            Point {
                minute: 120_000,
                p50: Some(1500),
                p95: None,
            },
        ];
        let svg = latency("run", "run time", &points, 0, 180_000);
        assert!(svg.contains("class=\"p50\"") && svg.contains("class=\"p95\""));
        assert!(svg.contains("UTC</text>"), "{svg}");
        assert!(
            svg.contains(">2.0 s</text>"),
            "the axis says its unit: {svg}"
        );
    }
}
