//! `stem health`: is the broker up, the result backend up, and is any worker alive? Exits
//! non-zero when something is down.

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use clap::Args;
use serde_json::json;
use std::time::Duration;

#[derive(Args)]
pub struct HealthArgs {
    #[arg(long)]
    pub json: bool,
    /// Do not fail when no worker has sent a heartbeat recently (check the services only).
    #[arg(long)]
    pub no_workers_ok: bool,
    /// A worker is live if its last heartbeat is younger than this.
    #[arg(long, default_value = "10s", value_parser = super::worker::parse_duration)]
    pub lapse: Duration,
}

pub async fn run(conn: &ConnArgs, a: HealthArgs) -> CliResult {
    let urls = conn.urls(None);
    let adapters = match conn.connect(None).await {
        Ok(ad) => ad,
        Err(e) => {
            if a.json {
                println!(
                    "{}",
                    json!({"ok": false, "broker": {"ok": false, "error": e.message}})
                );
            }
            return Err(e);
        }
    };
    let broker = adapters.broker.ping().await;
    let backend = adapters.backend.ping().await;
    let workers = adapters.control.workers().await;
    let now = stem_protocol::now_ms();
    let (live, lapsed) = match &workers {
        Ok(ws) => ws
            .iter()
            .partition::<Vec<_>, _>(|w| now - w.at <= a.lapse.as_millis() as i64),
        Err(_) => (vec![], vec![]),
    };
    let workers_ok = a.no_workers_ok || !live.is_empty();
    let ok = broker.is_ok() && backend.is_ok() && workers_ok;
    let status = |r: &Result<(), stem_adapters::AdapterError>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    if a.json {
        println!(
            "{}",
            json!({
                "ok": ok,
                "broker": {"url": redact(&urls.broker), "backend": adapters.broker.backend(), "status": status(&broker)},
                "result_backend": {"url": redact(&urls.backend), "backend": adapters.backend.backend(), "status": status(&backend)},
                "workers": {"live": live.iter().map(|w| &w.worker).collect::<Vec<_>>(), "lapsed": lapsed.iter().map(|w| &w.worker).collect::<Vec<_>>()},
            })
        );
    } else {
        let line = |name: &str, url: &str, r: &Result<(), stem_adapters::AdapterError>| match r {
            Ok(()) => println!("{name:<15} ok    {}", redact(url)),
            Err(e) => println!("{name:<15} DOWN  {}  ({e})", redact(url)),
        };
        line("broker", &urls.broker, &broker);
        line("result backend", &urls.backend, &backend);
        println!(
            "{:<15} {}  {} live, {} lapsed",
            "workers",
            if live.is_empty() { "none " } else { "ok   " },
            live.len(),
            lapsed.len()
        );
    }
    if ok {
        Ok(())
    } else {
        Err(CliError::failed(
            [
                broker.err().map(|e| format!("broker down: {e}")),
                backend.err().map(|e| format!("result backend down: {e}")),
                (!workers_ok).then(|| "no live worker".to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; "),
        ))
    }
}

/// Hides a password in a URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
