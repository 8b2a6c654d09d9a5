//! The listener: plain HTTP, or TLS (rustls) with `--tls-cert/--tls-key`; it refuses a
//! non-loopback address when no token is configured, prints the address it listens on (port 0
//! picks a free one), and on SIGINT or SIGTERM stops taking connections and lets requests in
//! flight finish for a few seconds.

use super::error::ServeError;
use super::{router, AppState};
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long requests in flight (long polls, event streams) get at shutdown.
const GRACE: Duration = Duration::from_secs(5);

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub tls: Option<Tls>,
}

/// Serves the API until a signal stops it.
pub async fn serve(state: AppState, config: ServeConfig) -> Result<(), ServeError> {
    let addr = config.listen;
    if state.tokens.is_empty() && !addr.ip().is_loopback() {
        return Err(ServeError::NoTokensOffLoopback { addr });
    }
    let app = router(state).into_make_service();
    let handle = Handle::new();
    tokio::spawn(announce(handle.clone(), config.tls.is_some()));
    tokio::spawn(stop_on_signal(handle.clone()));
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let served = match &config.tls {
        None => {
            axum_server::from_tcp(listener)
                .map_err(|source| ServeError::Bind { addr, source })?
                .handle(handle)
                .serve(app)
                .await
        }
        Some(tls) => {
            let rustls = RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: tls.cert.display().to_string(),
                    key: tls.key.display().to_string(),
                    source,
                })?;
            axum_server::from_tcp_rustls(listener, rustls)
                .map_err(|source| ServeError::Bind { addr, source })?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    served.map_err(ServeError::Server)
}

/// Prints where the server listens once it does (a line scripts and tests wait for).
async fn announce(handle: Handle<SocketAddr>, tls: bool) {
    if let Some(addr) = handle.listening().await {
        let scheme = if tls { "https" } else { "http" };
        println!("stem serve: listening on {scheme}://{addr}");
        tracing::info!(%addr, tls, "serving the API");
    }
}

async fn stop_on_signal(handle: Handle<SocketAddr>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("stopping: no new connections, {GRACE:?} for requests in flight");
    handle.graceful_shutdown(Some(GRACE));
}
