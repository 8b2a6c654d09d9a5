//! `stem observe workers|queues|metrics`: snapshots of live workers (lapsed ones flagged),
//! queue sizes, and the workers' counters summed.

use super::conn::ConnArgs;
use super::CliResult;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Args)]
pub struct ObserveCmd {
    #[command(subcommand)]
    pub command: ObserveSub,
}

#[derive(Subcommand)]
pub enum ObserveSub {
    /// Workers seen recently; a worker whose heartbeat is older than --lapse is flagged.
    Workers {
        #[arg(long, default_value = "10s", value_parser = super::worker::parse_duration)]
        lapse: Duration,
        #[arg(long)]
        json: bool,
    },
    /// Ready, delayed, leased and dead counts per queue.
    Queues {
        /// Queues to show (default: every queue the broker knows).
        #[arg(long, value_delimiter = ',')]
        queues: Option<Vec<String>>,
        #[arg(long)]
        json: bool,
    },
    /// Counters of all live workers, summed.
    Metrics {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &ConnArgs, cmd: ObserveCmd) -> CliResult {
    let adapters = conn.connect(None).await?;
    match cmd.command {
        ObserveSub::Workers { lapse, json } => {
            let now = stem_protocol::now_ms();
            let mut workers = adapters.control.workers().await?;
            workers.sort_by(|a, b| a.worker.cmp(&b.worker));
            if json {
                let list: Vec<Value> = workers
                    .iter()
                    .map(|w| {
                        let mut v = serde_json::to_value(w).unwrap_or(Value::Null);
                        v["lapsed"] = json!(now - w.at > lapse.as_millis() as i64);
                        v["age_ms"] = json!(now - w.at);
                        v
                    })
                    .collect();
                println!("{}", Value::Array(list));
            } else if workers.is_empty() {
                println!("no workers");
            } else {
                for w in workers {
                    let age = now - w.at;
                    let flag = if age > lapse.as_millis() as i64 {
                        "LAPSED"
                    } else {
                        "live"
                    };
                    println!(
                        "{}  {flag}  host={} pid={} queues={} in_flight={} last_seen={}ms ago",
                        w.worker,
                        w.host,
                        w.pid,
                        w.queues.join(","),
                        w.in_flight,
                        age
                    );
                }
            }
        }
        ObserveSub::Queues { queues, json } => {
            let names = match queues {
                Some(q) => q,
                None => adapters.admin.queues().await?,
            };
            let mut rows = serde_json::Map::new();
            for q in &names {
                let c = adapters.admin.counts(q).await?;
                rows.insert(q.clone(), serde_json::to_value(c)?);
                if !json {
                    println!(
                        "{q:<20} ready={} delayed={} leased={} dead={}",
                        c.ready, c.delayed, c.leased, c.dead
                    );
                }
            }
            if json {
                println!("{}", Value::Object(rows));
            } else if names.is_empty() {
                println!("no queues");
            }
        }
        ObserveSub::Metrics { json } => {
            let workers = adapters.control.workers().await?;
            let mut totals = serde_json::Map::new();
            for w in &workers {
                if let Some(stats) = w.stats.as_object() {
                    for (k, v) in stats {
                        if let Some(n) = v.as_u64() {
                            if k == "pid" || k == "rss_mb" || k == "uptime_s" {
                                continue;
                            }
                            let cur = totals.get(k).and_then(Value::as_u64).unwrap_or(0);
                            totals.insert(k.clone(), json!(cur + n));
                        }
                    }
                }
            }
            totals.insert("workers".into(), json!(workers.len()));
            if json {
                println!("{}", Value::Object(totals));
            } else {
                for (k, v) in totals {
                    println!("{k:<15} {v}");
                }
            }
        }
    }
    Ok(())
}
