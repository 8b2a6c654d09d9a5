//! `stem observe workers|queues|metrics|schedules`: snapshots of live workers (lapsed ones flagged),
//! queue sizes, and the workers' counters summed (see [`crate::ops::workers`] and
//! [`crate::ops::queues`]).

use super::conn::ConnArgs;
use super::output::print_json;
use super::CliResult;
use crate::ops::queues::{self, QueueSize};
use crate::ops::workers;
use clap::{Args, Subcommand};
use serde_json::{Map, Value};
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
    /// The beat leader and every schedule with its last and next fire, runs, error and drift.
    Schedules {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &ConnArgs, cmd: ObserveCmd) -> CliResult {
    let adapters = conn.connect(None).await?;
    match cmd.command {
        ObserveSub::Workers { lapse, json } => {
            let workers = workers::list(&adapters, lapse).await?;
            if json {
                print_json(&workers)?;
            } else if workers.is_empty() {
                println!("no workers");
            } else {
                for w in &workers {
                    let h = &w.heartbeat;
                    println!(
                        "{}  {}  host={} pid={} queues={} in_flight={} last_seen={}ms ago",
                        h.worker,
                        if w.lapsed { "LAPSED" } else { "live" },
                        h.host,
                        h.pid,
                        h.queues.join(","),
                        h.in_flight,
                        w.age_ms
                    );
                }
            }
        }
        ObserveSub::Queues {
            queues: names,
            json,
        } => {
            let sizes = queues::sizes(&adapters, names).await?;
            if json {
                let rows: Map<String, Value> = sizes
                    .iter()
                    .map(|s| {
                        let mut row = serde_json::to_value(s.counts)?;
                        row["paused"] = Value::Bool(s.paused);
                        row["consumers"] = Value::from(s.consumers);
                        Ok((s.queue.clone(), row))
                    })
                    .collect::<Result<_, serde_json::Error>>()?;
                println!("{}", Value::Object(rows));
            } else if sizes.is_empty() {
                println!("no queues");
            } else {
                for QueueSize {
                    queue,
                    counts: c,
                    paused,
                    consumers,
                } in &sizes
                {
                    println!(
                        "{queue:<20} ready={} delayed={} leased={} dead={} workers={consumers}{}{}",
                        c.ready,
                        c.delayed,
                        c.leased,
                        c.dead,
                        if *paused { "  PAUSED" } else { "" },
                        if *consumers == 0 && c.ready + c.delayed > 0 {
                            "  (no live worker consumes it)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        ObserveSub::Schedules { json } => {
            let o = crate::ops::schedules::overview(&adapters).await?;
            if json {
                print_json(&o)?;
            } else {
                match &o.leader {
                    Some(l) => println!(
                        "leader: {} (token {}, lease until {})",
                        l.holder,
                        l.token,
                        stem_protocol::schedule::format_time(l.expires_at)
                    ),
                    None => println!("leader: none (no beat running)"),
                }
                for v in &o.schedules {
                    println!(
                        "{:<20} last={} next={} runs={} drift={} error={}",
                        v.id,
                        v.last_fire.as_deref().unwrap_or("-"),
                        v.next_fire.as_deref().unwrap_or("-"),
                        v.run_count,
                        v.drift_ms.map(|d| format!("{d}ms")).unwrap_or("-".into()),
                        v.last_error.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        ObserveSub::Metrics { json } => {
            let metrics = serde_json::to_value(workers::metrics(&adapters).await?)?;
            if json {
                println!("{metrics}");
            } else if let Value::Object(totals) = metrics {
                for (k, v) in totals {
                    println!("{k:<15} {v}");
                }
            }
        }
    }
    Ok(())
}
