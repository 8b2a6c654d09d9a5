//! `stem serve`: the HTTP API, a language-neutral front door for producers and operators. It
//! is stateless (any number of servers may run behind a load balancer) and every route calls
//! the same [`crate::ops`] function as the matching CLI command, returning its value as JSON.
//!
//! One file per resource (`tasks`, `queues`, `workers`, `dead_letters`, `events`, `workflows`,
//! `health`, `metrics` for Prometheus),
//! with the router, bearer-token auth, the cross-origin guard and security headers, JSON errors
//! and the listener beside them. Bad requests get
//! a JSON error naming what is wrong and change nothing; a store outage is a 503 and the server
//! keeps serving.

mod auth;
mod bulk;
mod dashboard;
mod dead_letters;
mod error;
mod events;
mod guard;
mod headers;
mod health;
mod listen;
mod metrics;
mod openapi;
mod origin;
mod params;
mod queues;
mod router;
mod schedules;
mod stats;
mod tasks;
mod worker_actions;
mod workers;
mod workflows;

pub use auth::{Scope, Tokens, TokensError};
pub use error::{ApiError, ServeError};
pub use listen::{serve, ServeConfig, Tls};
pub use origin::OriginPolicy;
pub use router::router;

use crate::manifest::LoadedManifest;
use std::sync::Arc;
use stem_adapters::Adapters;

/// The request body cap when none is configured: room for a full batch of small tasks.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// What every handler shares: the stores, the manifest (task names are checked against it when
/// there is one) and where the stores are (for health reports).
#[derive(Clone)]
pub struct AppState {
    pub adapters: Adapters,
    pub manifest: Option<Arc<LoadedManifest>>,
    pub tokens: Arc<Tokens>,
    /// Allowed `Host` names and cross-origin callers (see [`guard`]).
    pub origins: Arc<OriginPolicy>,
    pub broker_url: Arc<str>,
    pub backend_url: Arc<str>,
    pub max_body: usize,
    /// The longest long-poll (`?wait=`) one request may hold; a longer wait is cut to it.
    pub max_wait: std::time::Duration,
}
