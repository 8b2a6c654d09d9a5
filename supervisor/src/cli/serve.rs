//! `stem serve`: parse the flags, connect, load the manifest and tokens, and start the HTTP API
//! ([`crate::serve`]).

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use crate::ops::enqueue::find_manifest;
use crate::serve::{self, AppState, OriginPolicy, ServeConfig, Tls, Tokens};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; without API tokens only a loopback address is allowed.
    #[arg(long, default_value = "127.0.0.1:8750")]
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Bearer tokens, `TOKEN[:read|:admin]` separated by commas.
    #[arg(long, env = "STEM_API_TOKENS", hide_env_values = true)]
    pub tokens: Option<String>,
    /// A file of tokens, one `TOKEN[:read|:admin]` per line.
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,
    /// Check task names against this manifest (default: ./stem.toml if present).
    #[arg(long, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Another `Host` name a tokenless server answers to (`NAME` or `NAME:PORT`; loopback names
    /// and addresses always are). Repeatable.
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "STEM_SERVE_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allow_host: Vec<String>,
    /// An origin (`http(s)://HOST[:PORT]`) whose pages may call the API from a browser: it gets
    /// CORS answers and, on a tokenless server, may change state. Repeatable.
    #[arg(
        long = "allow-origin",
        value_name = "URL",
        env = "STEM_SERVE_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub allow_origin: Vec<String>,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = serve::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// The longest a long-poll (`?wait=`) holds one request (a longer wait is cut to it, and the
    /// caller asks again): below a proxy's idle timeout.
    #[arg(long, default_value = "60s", value_parser = super::worker::parse_duration)]
    pub max_wait: std::time::Duration,
}

pub async fn run(conn: &ConnArgs, a: ServeArgs) -> CliResult {
    let tokens = Tokens::load(a.tokens.as_deref(), a.tokens_file.as_deref())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let origins = OriginPolicy::new(&a.allow_host, &a.allow_origin, a.tls_cert.is_some())
        .map_err(CliError::usage)?;
    let manifest = find_manifest(a.manifest.as_deref())?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let urls = conn.urls(settings.as_ref());
    let adapters = conn.connect(settings.as_ref()).await?;
    // Countdowns of tasks enqueued through the API run on the store's clock.
    crate::ops::time::warn_on_skew(adapters.broker.as_ref()).await;
    tokio::spawn(crate::ops::time::track_skew(
        adapters.broker.clone(),
        std::time::Duration::from_secs(30),
    ));
    let state = AppState {
        adapters,
        manifest: manifest.map(Arc::new),
        tokens: Arc::new(tokens),
        origins: Arc::new(origins),
        broker_url: urls.broker.into(),
        backend_url: urls.backend.into(),
        max_body: a.max_body,
        max_wait: a.max_wait,
    };
    let tls = match (a.tls_cert, a.tls_key) {
        (Some(cert), Some(key)) => Some(Tls { cert, key }),
        _ => None,
    };
    let config = ServeConfig {
        listen: a.listen,
        tls,
    };
    serve::serve(state, config).await.map_err(|e| match e {
        serve::ServeError::NoTokensOffLoopback { .. } | serve::ServeError::Tls { .. } => {
            CliError::usage(e.to_string())
        }
        _ => CliError::failed(e.to_string()),
    })
}
