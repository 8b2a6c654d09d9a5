//! `stem health`: is the broker up, the result backend up, and is any worker alive? Exits
//! non-zero when something is down.

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::health::{self, ComponentHealth, Endpoints, HealthOptions};
use clap::Args;
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
    let urls = conn.found_urls()?;
    let endpoints = Endpoints {
        broker: &urls.broker,
        backend: &urls.backend,
    };
    let options = HealthOptions {
        lapse: a.lapse,
        no_workers_ok: a.no_workers_ok,
    };
    // A URL that can never work (no scheme, an unknown one) is bad configuration: one line,
    // exit 2, not a DOWN report.
    for url in [&urls.broker, &urls.backend] {
        stem_adapters::connect::check_url(url).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let report = match conn.connect(None).await {
        Ok(adapters) => health::check(&adapters, endpoints, options).await,
        // One store could not be opened: ask each on its own, so the report names which.
        Err(_) => {
            let connect = stem_adapters::ConnectOptions {
                namespace: urls.namespace.clone(),
            };
            health::check_apart(endpoints, &connect, options).await
        }
    };
    if a.json {
        print_json(&report)?;
    } else {
        let line = |name: &str, c: &ComponentHealth| match &c.status.error {
            None => println!("{name:<15} ok    {}", c.url),
            Some(e) => println!("{name:<15} DOWN  {}  ({e})", c.url),
        };
        line("broker", &report.broker);
        line("result backend", &report.result_backend);
        let workers = &report.workers;
        println!(
            "{:<15} {}  {} live, {} lapsed",
            "workers",
            if workers.live.is_empty() {
                "none "
            } else {
                "ok   "
            },
            workers.live.len(),
            workers.lapsed.len()
        );
        match &report.clock {
            Some(c) if c.warn => println!("{:<15} WARN  {}", "clock", c.describe()),
            Some(c) => println!(
                "{:<15} ok    {:+.3} s from the store's clock",
                "clock",
                c.offset_ms as f64 / 1000.0
            ),
            None => {}
        }
    }
    if let Some(c) = report.clock.as_ref().filter(|c| c.warn) {
        eprintln!("warning: {}", c.describe());
    }
    if report.ok {
        Ok(())
    } else {
        Err(CliError::failed(report.problems().join("; ")))
    }
}
