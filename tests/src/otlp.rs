//! The OTLP/HTTP JSON receiver of `examples/otel_metrics/receiver.py` run for a test: started on
//! a free loopback port, its files read back (metric data points, spans) and stopped with the
//! guard.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Receiver {
    child: Child,
    pub url: String,
    out: PathBuf,
}

impl Receiver {
    /// Starts the receiver, writing what it gets under `out`.
    pub fn start(out: PathBuf) -> Receiver {
        let script = crate::repo_root().join("examples/otel_metrics/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", "0", "--out"])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the OTLP receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("the receiver's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Receiver { child, url, out }
    }

    /// Every body received for `signal` (`metrics`, `traces`), in order.
    pub fn bodies(&self, signal: &str) -> Vec<Value> {
        std::fs::read_to_string(self.out.join(format!("{signal}.jsonl")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The last value received of each (metric, data point attributes): sums and gauges give
    /// their value, histograms their count.
    pub fn latest(&self) -> Vec<(String, Value, u64)> {
        let mut latest: Vec<(String, Value, u64)> = Vec::new();
        for body in self.bodies("metrics") {
            for (name, attrs, value) in points(&body) {
                match latest
                    .iter_mut()
                    .find(|(n, a, _)| *n == name && *a == attrs)
                {
                    Some(slot) => slot.2 = value,
                    None => latest.push((name, attrs, value)),
                }
            }
        }
        latest
    }

    /// Every span received, with its resource's `service.name`.
    pub fn spans(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for body in self.bodies("traces") {
            for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                let service = attrs(&rs["resource"]["attributes"])["service.name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for s in ss["spans"].as_array().into_iter().flatten() {
                        out.push((service.clone(), s.clone()));
                    }
                }
            }
        }
        out
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn number(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| v.as_f64().map(|f| f as u64))
        .unwrap_or(0)
}

/// OTLP attributes as one JSON object of plain values.
pub fn attrs(list: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for a in list.as_array().into_iter().flatten() {
        let v = a["value"]
            .as_object()
            .and_then(|o| o.values().next().cloned())
            .unwrap_or(Value::Null);
        out.insert(a["key"].as_str().unwrap_or_default().to_string(), v);
    }
    Value::Object(out)
}

fn points(body: &Value) -> Vec<(String, Value, u64)> {
    let mut out = Vec::new();
    for rm in body["resourceMetrics"].as_array().into_iter().flatten() {
        for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
            for m in sm["metrics"].as_array().into_iter().flatten() {
                let name = m["name"].as_str().unwrap_or_default().to_string();
                for kind in ["sum", "gauge", "histogram"] {
                    for p in m[kind]["dataPoints"].as_array().into_iter().flatten() {
                        let value = if kind == "histogram" {
                            number(&p["count"])
                        } else if !p["asInt"].is_null() {
                            number(&p["asInt"])
                        } else {
                            number(&p["asDouble"])
                        };
                        out.push((name.clone(), attrs(&p["attributes"]), value));
                    }
                }
            }
        }
    }
    out
}
