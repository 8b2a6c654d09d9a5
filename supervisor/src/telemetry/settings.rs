//! Which exporters to run, read from the standard OpenTelemetry variables with Stem's names as
//! aliases: `OTEL_METRICS_EXPORTER` (or `STEM_METRIC_EXPORTERS`) = `otlp,prometheus,console,none`,
//! `OTEL_TRACES_EXPORTER` = `otlp,console,none`, `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `STEM_OTLP_ENDPOINT`), `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` (default) or `http/json`.
//! With an endpoint and no exporter named, metrics and traces go over OTLP; with neither, nothing
//! is exported (a `--metrics-listen` address adds Prometheus).

use std::collections::{BTreeMap, BTreeSet};
use stem_protocol::manifest::Runtime;

/// The default OTLP/HTTP endpoint when `otlp` is named without one.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exporter {
    Otlp,
    Prometheus,
    Console,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
}

/// What a worker exports and where it serves its scrape endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    pub settings: Settings,
    /// `--metrics-listen`: serve `GET /metrics` (Prometheus text) here.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            settings: Settings::none(),
            metrics_listen: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub metrics: BTreeSet<Exporter>,
    pub traces: BTreeSet<Exporter>,
    /// Base URL; `/v1/metrics` and `/v1/traces` are appended.
    pub endpoint: String,
    pub protocol: Protocol,
}

impl Settings {
    pub fn none() -> Settings {
        Settings {
            metrics: BTreeSet::new(),
            traces: BTreeSet::new(),
            endpoint: DEFAULT_ENDPOINT.into(),
            protocol: Protocol::HttpProtobuf,
        }
    }

    /// Reads the process environment (see the module's documentation).
    pub fn from_env() -> Result<Settings, String> {
        Settings::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| get("STEM_OTLP_ENDPOINT"));
        let default: BTreeSet<Exporter> = match endpoint {
            Some(_) => [Exporter::Otlp].into(),
            None => BTreeSet::new(),
        };
        let metrics = match get("OTEL_METRICS_EXPORTER")
            .map(|v| ("OTEL_METRICS_EXPORTER", v))
            .or_else(|| get("STEM_METRIC_EXPORTERS").map(|v| ("STEM_METRIC_EXPORTERS", v)))
        {
            Some((var, v)) => parse_list(var, &v, true)?,
            None => default.clone(),
        };
        let traces = match get("OTEL_TRACES_EXPORTER") {
            Some(v) => parse_list("OTEL_TRACES_EXPORTER", &v, false)?,
            None => default,
        };
        let protocol = match get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref().map(str::trim) {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("http/json") => Protocol::HttpJson,
            Some(other) => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL: {other:?} is not supported (http/protobuf or http/json; gRPC is not built in)"
                ))
            }
        };
        Ok(Settings {
            metrics,
            traces,
            endpoint: endpoint
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
                .trim_end_matches('/')
                .to_string(),
            protocol,
        })
    }

    pub fn url(&self, signal: &str) -> String {
        format!("{}/v1/{signal}", self.endpoint)
    }

    /// When spans go over OTLP, SDK children are told where too (`OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`), so their own span of each task joins the trace; a
    /// runtime's own `env` in the manifest wins.
    pub fn hand_to_runtimes(&self, runtimes: &mut BTreeMap<String, Runtime>) {
        if !self.traces.contains(&Exporter::Otlp) {
            return;
        }
        let protocol = match self.protocol {
            Protocol::HttpJson => "http/json",
            Protocol::HttpProtobuf => "http/protobuf",
        };
        for rt in runtimes.values_mut() {
            rt.env
                .entry("OTEL_EXPORTER_OTLP_ENDPOINT".into())
                .or_insert_with(|| self.endpoint.clone());
            rt.env
                .entry("OTEL_EXPORTER_OTLP_PROTOCOL".into())
                .or_insert_with(|| protocol.into());
        }
    }
}

fn parse_list(var: &str, value: &str, metrics: bool) -> Result<BTreeSet<Exporter>, String> {
    let mut out = BTreeSet::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match name {
            "otlp" => out.insert(Exporter::Otlp),
            "console" | "stdout" | "logging" => out.insert(Exporter::Console),
            "prometheus" if metrics => out.insert(Exporter::Prometheus),
            "none" => return Ok(BTreeSet::new()),
            other => {
                let known = if metrics {
                    "otlp, prometheus, console, none"
                } else {
                    "otlp, console, none"
                };
                return Err(format!(
                    "{var}: unknown exporter {other:?} (known: {known})"
                ));
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_configured_exports_nothing() {
        assert_eq!(read(&[]).unwrap(), Settings::none());
    }

    #[test]
    fn an_endpoint_alone_means_otlp_and_aliases_work() {
        let s = read(&[("STEM_OTLP_ENDPOINT", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(s.metrics, [Exporter::Otlp].into());
        assert_eq!(s.traces, [Exporter::Otlp].into());
        assert_eq!(s.url("metrics"), "http://127.0.0.1:9/v1/metrics");
        let s = read(&[("STEM_METRIC_EXPORTERS", "console, prometheus")]).unwrap();
        assert_eq!(s.metrics, [Exporter::Prometheus, Exporter::Console].into());
        assert!(s.traces.is_empty());
        let s = read(&[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("STEM_METRIC_EXPORTERS", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap();
        assert!(s.metrics.is_empty(), "the standard name wins");
        assert_eq!(s.protocol, Protocol::HttpJson);
    }

    #[test]
    fn bad_values_are_named() {
        let e = read(&[("OTEL_METRICS_EXPORTER", "otlp,jaeger")]).unwrap_err();
        assert_eq!(
            e,
            "OTEL_METRICS_EXPORTER: unknown exporter \"jaeger\" (known: otlp, prometheus, console, none)"
        );
        let e = read(&[("OTEL_TRACES_EXPORTER", "prometheus")]).unwrap_err();
        assert!(
            e.starts_with("OTEL_TRACES_EXPORTER: unknown exporter"),
            "{e}"
        );
        let e = read(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err();
        assert!(
            e.starts_with("OTEL_EXPORTER_OTLP_PROTOCOL: \"grpc\""),
            "{e}"
        );
    }
}
