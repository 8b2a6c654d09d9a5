//! HTML building for the dashboard: escaping (every value from a store goes through [`esc`]),
//! the page frame with its navigation and icon, tables (a list with nothing in it says what would
//! be there and how to make some), times, and the inline SVG chart of the overview.

use axum::response::Html;
use std::fmt::Write;
use stem_adapters::MinuteCounts;

/// `s` safe as HTML text and as a double-quoted attribute value.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a URL path segment or query value (everything but unreserved characters encoded).
pub fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A JSON value pretty-printed and escaped, for `<pre>`.
pub fn json(v: &impl serde::Serialize) -> String {
    esc(&serde_json::to_string_pretty(v).unwrap_or_default())
}

/// Epoch ms as UTC `YYYY-MM-DD HH:MM:SS`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A duration in ms, short (`850 ms`, `3.2 s`, `4 min`).
pub fn dur(ms: i64) -> String {
    match ms {
        m if m < 1000 => format!("{m} ms"),
        m if m < 60_000 => format!("{:.1} s", m as f64 / 1000.0),
        m if m < 3_600_000 => format!("{} min", m / 60_000),
        m => format!("{:.1} h", m as f64 / 3_600_000.0),
    }
}

const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/ui/queues", "Queues"),
    ("/ui/tasks", "Tasks"),
    ("/ui/stats", "Stats"),
    ("/ui/workflows", "Workflows"),
    ("/ui/workers", "Workers"),
    ("/ui/dead-letters", "Dead letters"),
    ("/ui/schedules", "Schedules"),
    ("/ui/canvases", "Canvases"),
];

/// The page: title, navigation (the current one marked), `<main>` with `body`.
pub fn page(title: &str, current: &str, body: &str) -> Html<String> {
    let mut nav = String::new();
    for (href, label) in NAV {
        let mark = if *href == current {
            " class=\"here\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{href}\"{mark}>{label}</a>");
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Stem</title><link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.ico\">\
         <link rel=\"stylesheet\" href=\"/ui/app.css\"></head>\
         <body><header><strong>Stem</strong><nav>{nav}</nav><span id=\"live\" title=\"live updates\">●</span></header>\
         <main id=\"main\" data-page=\"{}\">{body}</main><div id=\"flash\" role=\"status\"></div>\
         <script src=\"/ui/app.js\"></script></body></html>",
        esc(title),
        esc(current)
    ))
}

/// The dashboard's icon (served as `/favicon.ico`): a stem with a leaf, in the header's colours.
pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
<rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#1d2330\"/>\
<path d=\"M16 27V11\" stroke=\"#6ea8fe\" stroke-width=\"3\" stroke-linecap=\"round\"/>\
<path d=\"M16 15c0-6 5-9 10-9 0 6-4 10-10 9z\" fill=\"#66bb6a\"/></svg>";

/// A list's table, or when `rows` is empty a sentence (`empty`, trusted HTML) saying what would
/// be listed and the command that makes some, under the same id.
pub fn list(id: &str, head: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p id=\"{id}\" class=\"none empty\">{empty}</p>");
    }
    table(id, head, rows)
}

/// A table: header cells and rows of already-escaped cells.
pub fn table(id: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"none\">none</td></tr>",
            head.len()
        );
    }
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A button that POSTs `body` (JSON) to `path` through the API, asking `confirm` first if set.
pub fn action(label: &str, path: &str, body: &str, confirm: Option<&str>) -> String {
    let confirm = confirm
        .map(|c| format!(" data-confirm=\"{}\"", esc(c)))
        .unwrap_or_default();
    format!(
        "<button type=\"button\" data-post=\"{}\" data-body=\"{}\"{confirm}>{}</button>",
        esc(path),
        esc(body),
        esc(label)
    )
}

/// The bulk actions over a table's picked rows (`.pick` boxes; admin tokens only): each
/// `(action, label, question)` a button the script confirms, then posts with the picked ids to
/// `/v1/bulk/tasks`.
pub fn bulk_bar(actions: &[(&str, &str, &str)]) -> String {
    let buttons: Vec<String> = actions
        .iter()
        .map(|(action, label, confirm)| {
            format!(
                "<button type=\"button\" data-bulk=\"{}\" data-confirm=\"{}\">{}</button>",
                esc(action),
                esc(confirm),
                esc(label)
            )
        })
        .collect();
    format!(
        "<p id=\"bulk\" class=\"bulk\">With the selected tasks: {}</p>",
        buttons.join(" ")
    )
}

/// A pick box for a table's first column, and the one in its header that picks every row.
pub fn pick(id: &str) -> String {
    format!(
        "<input type=\"checkbox\" class=\"pick\" value=\"{0}\" aria-label=\"select {0}\">",
        esc(id)
    )
}

pub const PICK_ALL: &str =
    "<input type=\"checkbox\" id=\"pick-all\" aria-label=\"select every task on this page\">";

/// A button that POSTs `{}` to `path` through the API, then opens `follow` followed by the id
/// the reply names (a retry opens the new task's page).
pub fn action_then(label: &str, path: &str, follow: &str) -> String {
    format!(
        "<button type=\"button\" data-post=\"{}\" data-body=\"{{}}\" data-follow=\"{}\">{}</button>",
        esc(path),
        esc(follow),
        esc(label)
    )
}

/// Bars of succeeded and failed tasks per minute over the hour ending at `now` (epoch ms).
pub fn chart(minutes: &[MinuteCounts], now: i64) -> String {
    let start = stem_adapters::minute_of(now) - 59 * 60_000;
    let get = |m: &MinuteCounts, k: &str| m.counts.get(k).copied().unwrap_or(0);
    let mut ok = [0u64; 60];
    let mut bad = [0u64; 60];
    for m in minutes {
        let i = (m.minute - start) / 60_000;
        if (0..60).contains(&i) {
            ok[i as usize] += get(m, "succeeded");
            bad[i as usize] += get(m, "failed") + get(m, "retried");
        }
    }
    let max = ok
        .iter()
        .zip(&bad)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h) = (600.0, 120.0);
    let bar = w / 60.0;
    let mut svg = format!(
        "<svg id=\"throughput\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"tasks per minute, last hour\">",
        h + 16.0
    );
    for i in 0..60 {
        let x = i as f64 * bar;
        let hok = ok[i] as f64 / max as f64 * h;
        let hbad = bad[i] as f64 / max as f64 * h;
        let t = time(start + i as i64 * 60_000);
        let _ = write!(
            svg,
            "<g><title>{} — {} succeeded, {} failed or retried</title>\
             <rect class=\"ok\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hok:.1}\"/>\
             <rect class=\"bad\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hbad:.1}\"/></g>",
            &t[11..16],
            ok[i],
            bad[i],
            h - hok - hbad,
            bar - 1.0,
            h - hbad,
            bar - 1.0
        );
    }
    let total_ok: u64 = ok.iter().sum();
    let total_bad: u64 = bad.iter().sum();
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\">-60 min</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">now · peak {max}/min</text></svg>\
         <p class=\"legend\"><span class=\"ok\">■</span> succeeded <b id=\"hour-ok\">{total_ok}</b> \
         <span class=\"bad\">■</span> failed or retried <b id=\"hour-bad\">{total_bad}</b> in the last hour</p>",
        h + 14.0,
        w,
        h + 14.0
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc("<script>alert(1)</script> & \"'"),
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;&#39;"
        );
        assert_eq!(url("a b/c?"), "a%20b%2Fc%3F");
    }

    #[test]
    fn an_empty_list_says_what_to_do() {
        let empty = list("tasks", &["id"], &[], "No tasks yet");
        assert_eq!(
            empty,
            "<p id=\"tasks\" class=\"none empty\">No tasks yet</p>"
        );
        let one = list("tasks", &["id"], &[vec!["a".into()]], "No tasks yet");
        assert!(one.starts_with("<table id=\"tasks\">") && one.contains("<td>a</td>"));
    }
}
