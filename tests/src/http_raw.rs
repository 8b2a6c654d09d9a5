//! One HTTP request with exactly the headers a test names (a browser's `Origin`, a rebound
//! `Host`, a form's `Content-Type`), sent with `curl` and nothing added but what curl must send;
//! the answer's status, headers and body.

use serde_json::Value;
use std::process::{Command, Stdio};

/// An answer: status, headers (names lowercase, in order) and body (JSON when it is JSON).
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RawReply {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The error code of a JSON error answer, or "".
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// `METHOD base+path` with `headers` (an empty value removes a header curl would add) and
/// `body` when given (sent as is, with no `Content-Type` unless `headers` names one).
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> RawReply {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "-X", method, "--max-time", "30"])
        .args(["-w", "\n%{http_code}"])
        .args(["-H", "Accept:", "-H", "User-Agent:"]);
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            cmd.args(["-H", "Content-Type:"]);
        }
    }
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    let out = cmd
        .arg(format!("{base}{path}"))
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (rest, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    let status = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl {method} {path}: no status ({text:?}; {})",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    RawReply {
        status,
        headers,
        body,
    }
}
