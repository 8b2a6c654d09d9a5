//! Health: each component on its own — is the broker up, is the result backend up, is any
//! worker alive — and one verdict over them. A component that fails is reported with its
//! error; it never hides the others.

use super::workers::is_lapsed;
use serde::Serialize;
use std::time::Duration;
use stem_adapters::{AdapterError, Adapters};
use stem_protocol::now_ms;

/// How long one component gets to answer.
pub const COMPONENT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// A worker is live if its last heartbeat is younger than this.
    pub lapse: Duration,
    /// Healthy without any live worker (the services only).
    pub no_workers_ok: bool,
}

/// Where the components are, as configured (passwords are hidden in the report).
#[derive(Debug, Clone, Copy)]
pub struct Endpoints<'a> {
    pub broker: &'a str,
    pub backend: &'a str,
}

/// Up, or down with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Status {
    fn of(result: Result<(), AdapterError>) -> Self {
        Status {
            ok: result.is_ok(),
            error: result.err().map(|e| e.to_string()),
        }
    }
}

/// A store: where it is, which backend, and whether it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentHealth {
    /// The URL with any password hidden.
    pub url: String,
    pub backend: &'static str,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkersHealth {
    /// Workers whose heartbeat is recent.
    pub live: Vec<String>,
    /// Workers still listed whose heartbeat is too old.
    pub lapsed: Vec<String>,
    /// Why the workers could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Live workers are present, or none are required.
    #[serde(skip)]
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// Every component is healthy.
    pub ok: bool,
    pub broker: ComponentHealth,
    pub result_backend: ComponentHealth,
    pub workers: WorkersHealth,
    /// This host's clock against the broker's (absent when the broker has no clock of its own
    /// or did not answer). A skew is a warning, not a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<super::time::ClockSkew>,
}

impl HealthReport {
    /// One phrase per unhealthy component, for a one-line reason.
    pub fn problems(&self) -> Vec<String> {
        let down = |what: &str, c: &ComponentHealth| {
            c.status.error.as_ref().map(|e| format!("{what} down: {e}"))
        };
        [
            down("broker", &self.broker),
            down("result backend", &self.result_backend),
            (!self.workers.ok).then(|| "no live worker".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Checks each component once, all at once, each for at most [`COMPONENT_TIMEOUT`]. Never
/// fails itself: what is down is in the report.
pub async fn check(
    adapters: &Adapters,
    endpoints: Endpoints<'_>,
    options: HealthOptions,
) -> HealthReport {
    let (broker, backend, workers, clock) = tokio::join!(
        bounded(ping_and_write(adapters)),
        bounded(adapters.backend.ping()),
        bounded(adapters.control.workers()),
        bounded(super::time::clock_skew(adapters.broker.as_ref())),
    );
    let (broker, backend) = (Status::of(broker), Status::of(backend));
    let now = now_ms();
    let (live, lapsed, error) = match workers {
        Ok(ws) => {
            let (lapsed, live): (Vec<_>, Vec<_>) = ws
                .into_iter()
                .partition(|w| is_lapsed(w.at, now, options.lapse));
            let ids = |v: Vec<stem_adapters::Heartbeat>| v.into_iter().map(|w| w.worker).collect();
            (ids(live), ids(lapsed), None)
        }
        Err(e) => (vec![], vec![], Some(e.to_string())),
    };
    let workers = WorkersHealth {
        ok: options.no_workers_ok || !live.is_empty(),
        live,
        lapsed,
        error,
    };
    HealthReport {
        ok: broker.ok && backend.ok && workers.ok,
        broker: ComponentHealth {
            url: redact(endpoints.broker),
            backend: adapters.broker.backend(),
            status: broker,
        },
        result_backend: ComponentHealth {
            url: redact(endpoints.backend),
            backend: adapters.backend.backend(),
            status: backend,
        },
        workers,
        clock: clock.ok().flatten(),
    }
}

/// A queue name no producer can use (queue names are checked), for the write probe.
const WRITE_PROBE: &str = "\u{1}health-probe";

/// The broker answers, and takes a write: resuming a queue nobody paused changes nothing, but a
/// read-only replica, a read-only Postgres session or an unwritable file refuses it.
async fn ping_and_write(adapters: &Adapters) -> Result<(), AdapterError> {
    adapters.broker.ping().await?;
    adapters
        .flow
        .set_paused(WRITE_PROBE, false)
        .await
        .map_err(|e| AdapterError::permanent(format!("answers but cannot write: {e}")))
}

/// When the stores cannot be connected together, each is opened and asked on its own, so the
/// report blames the one that is down (a backend that is down is not the broker's fault).
pub async fn check_apart(
    endpoints: Endpoints<'_>,
    connect: &stem_adapters::ConnectOptions,
    options: HealthOptions,
) -> HealthReport {
    use stem_adapters::connect::open;
    let (broker, backend) = tokio::join!(
        bounded(open(endpoints.broker, connect)),
        bounded(open(endpoints.backend, connect)),
    );
    let component = |url: &str, status: Status, backend: Option<&'static str>| ComponentHealth {
        url: redact(url),
        backend: backend.unwrap_or_else(|| scheme(url)),
        status,
    };
    let (broker_status, broker_name, workers, clock) = match &broker {
        Ok(store) => {
            let (ping, ws, clock) = tokio::join!(
                bounded(stem_adapters::Broker::ping(store.as_ref())),
                bounded(store.workers()),
                bounded(super::time::clock_skew(store.as_ref())),
            );
            (
                Status::of(ping),
                Some(stem_adapters::Broker::backend(store.as_ref())),
                ws,
                clock.ok().flatten(),
            )
        }
        Err(e) => (Status::of(Err(e.clone())), None, Err(e.clone()), None),
    };
    let (backend_status, backend_name) = match &backend {
        Ok(store) => (
            Status::of(bounded(stem_adapters::ResultBackend::ping(store.as_ref())).await),
            Some(stem_adapters::ResultBackend::backend(store.as_ref())),
        ),
        Err(e) => (Status::of(Err(e.clone())), None),
    };
    let now = now_ms();
    let (live, lapsed, error): (Vec<String>, Vec<String>, _) = match workers {
        Ok(ws) => {
            let (lapsed, live): (Vec<_>, Vec<_>) = ws
                .into_iter()
                .partition(|w| is_lapsed(w.at, now, options.lapse));
            (
                live.into_iter().map(|w| w.worker).collect(),
                lapsed.into_iter().map(|w| w.worker).collect(),
                None,
            )
        }
        Err(e) => (vec![], vec![], Some(e.to_string())),
    };
    let workers = WorkersHealth {
        ok: options.no_workers_ok || !live.is_empty(),
        live,
        lapsed,
        error,
    };
    HealthReport {
        ok: broker_status.ok && backend_status.ok && workers.ok,
        broker: component(endpoints.broker, broker_status, broker_name),
        result_backend: component(endpoints.backend, backend_status, backend_name),
        workers,
        clock,
    }
}

/// The backend a URL names, by its scheme, for a store that could not be opened.
fn scheme(url: &str) -> &'static str {
    match url.split("://").next().unwrap_or_default() {
        "sqlite" => "sqlite",
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => "redis",
        "postgres" | "postgresql" => "postgres",
        "memory" => "memory",
        _ => "unknown",
    }
}

/// A component's answer, or an error once [`COMPONENT_TIMEOUT`] passes (a store that is down
/// may otherwise keep a caller waiting through its client's reconnect attempts).
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, AdapterError>>,
) -> Result<T, AdapterError> {
    tokio::time::timeout(COMPONENT_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(AdapterError::transient(format!(
                "no answer within {COMPONENT_TIMEOUT:?}"
            )))
        })
}

pub use stem_adapters::redact;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{beat, memory};
    use serde_json::json;

    const HERE: Endpoints<'static> = Endpoints {
        broker: "memory://health",
        backend: "memory://health",
    };

    fn options(no_workers_ok: bool) -> HealthOptions {
        HealthOptions {
            lapse: Duration::from_secs(10),
            no_workers_ok,
        }
    }

    #[tokio::test]
    async fn services_up_and_no_worker() {
        let adapters = memory("health").await;
        let report = check(&adapters, HERE, options(false)).await;
        assert!(report.broker.status.ok && report.result_backend.status.ok);
        assert!(!report.ok);
        assert_eq!(report.problems(), ["no live worker"]);
        assert_eq!(
            serde_json::to_value(&report).expect("json"),
            json!({
                "ok": false,
                "broker": {"url": "memory://health", "backend": "memory", "status": {"ok": true}},
                "result_backend": {"url": "memory://health", "backend": "memory", "status": {"ok": true}},
                "workers": {"live": [], "lapsed": []},
            })
        );
        let services = check(&adapters, HERE, options(true)).await;
        assert!(services.ok && services.problems().is_empty());
    }

    #[tokio::test]
    async fn a_live_worker_makes_it_healthy_and_a_lapsed_one_does_not() {
        let adapters = memory("health-workers").await;
        beat(&adapters, "old", 60_000, json!({})).await;
        let report = check(&adapters, HERE, options(false)).await;
        assert_eq!((report.ok, report.workers.lapsed.len()), (false, 1));
        beat(&adapters, "new", 0, json!({})).await;
        let report = check(&adapters, HERE, options(false)).await;
        assert!(report.ok, "{report:?}");
        assert_eq!(report.workers.live, ["new"]);
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("redis://u:secret@h:6379/0"),
            "redis://u:***@h:6379/0"
        );
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact("postgres://user@h/db"), "postgres://user@h/db");
    }
}
