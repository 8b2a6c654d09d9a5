//! Turns a `postgres://` URL and the namespace into connection settings: the tokio-postgres
//! config, the TLS connector for the URL's `sslmode`, and the schema that holds Stem's tables.
//!
//! tokio-postgres only knows `sslmode=disable|prefer|require`; libpq's `verify-ca` and
//! `verify-full`, `sslrootcert`, `sslcert` and `sslkey` are read here and turned into the one
//! rustls setup (`crate::tls`), so the URLs users already have for `psql` work unchanged. The
//! `STEM_TLS_*` variables fill in what the URL does not say.

use crate::tls::{PemFile, TlsOptions, Verify};
use crate::{AdapterError, Result};
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The server ends a transaction left idle this long (ms).
const IDLE_IN_TX_MS: u32 = 10_000;
/// A statement gives up waiting for a lock after this long (ms).
const LOCK_TIMEOUT_MS: u32 = 15_000;

/// How the server's certificate is checked, after libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Everything needed to open connections for one namespace.
#[derive(Clone)]
pub(crate) struct Settings {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// What the TLS options are, for messages (files and checks, never key material).
    pub tls_summary: String,
    /// `host:port/database`, for messages.
    pub endpoint: String,
    /// The schema holding the tables (the namespace, lowercased, other characters as `_`).
    pub schema: String,
}

impl Settings {
    pub fn parse(url: &str, namespace: &str) -> Result<Settings> {
        Settings::parse_with(url, namespace, |name| std::env::var(name).ok())
    }

    /// `parse`, with the `STEM_TLS_*` variables read by `var`.
    pub fn parse_with(
        url: &str,
        namespace: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        let mut files = TlsOptions::from_env(var);
        let schema = schema_name(namespace)?;
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut mode = TlsMode::Prefer;
        let mut root_cert = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => mode = parse_mode(&percent_decode(value))?,
                "sslrootcert" => root_cert = Some(percent_decode(value)),
                "sslcert" => files.cert = Some(PemFile::new(percent_decode(value), "sslcert")),
                "sslkey" => files.key = Some(PemFile::new(percent_decode(value), "sslkey")),
                _ => kept.push(pair),
            }
        }
        if let Some(path) = root_cert.filter(|p| p != "system") {
            files.ca = Some(PemFile::new(path, "sslrootcert"));
        }
        if files.ca.is_some() && mode == TlsMode::Require {
            // libpq: `require` with a root certificate verifies the chain like `verify-ca`.
            mode = TlsMode::VerifyCa;
        }
        let rebuilt = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: tokio_postgres::Config = rebuilt.parse().map_err(|e| {
            AdapterError::config(format!(
                "invalid postgres URL {:?}: {e}",
                crate::redact(url)
            ))
        })?;
        config.ssl_mode(match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // Notice a peer that vanished (a failover, a cut link) in about a minute, not two hours.
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_application_name().is_none() {
            config.application_name("stem");
        }
        // Every statement Stem runs on the hot path is one round trip (fetch, extend, commit), so
        // no worker holds a transaction open between calls. These bound the damage if one ever
        // does (a worker frozen inside a migration, a pooled session left mid-transaction): the
        // server ends an idle transaction and gives up a lock wait, so a frozen worker's row locks
        // cannot make every other worker's `SKIP LOCKED` fetch skip its rows for long.
        let search_path = format!(
            "-c search_path={schema} -c idle_in_transaction_session_timeout={IDLE_IN_TX_MS} \
             -c lock_timeout={LOCK_TIMEOUT_MS}"
        );
        let options = match config.get_options() {
            Some(existing) if !existing.is_empty() => format!("{existing} {search_path}"),
            _ => search_path,
        };
        config.options(options);
        let verify = match mode {
            TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => Verify::Off,
            TlsMode::VerifyCa => Verify::Chain,
            TlsMode::VerifyFull => Verify::Full,
        };
        let verify = if files.insecure { Verify::Off } else { verify };
        if files.insecure && matches!(mode, TlsMode::VerifyCa | TlsMode::VerifyFull) {
            tracing::warn!(
                "STEM_TLS_ALLOW_INSECURE is set: the postgres server's certificate is NOT                  verified although the URL asks for sslmode=verify-*"
            );
        }
        let tls_summary = if mode == TlsMode::Disable {
            "TLS off (sslmode=disable)".to_string()
        } else {
            format!("sslmode={}, {}", mode_name(mode), files.describe(verify))
        };
        let tls = if mode == TlsMode::Disable {
            // Never used (the config says no TLS), but the pool wants a connector.
            TlsOptions::default().client_config(Verify::Off)?
        } else {
            files.client_config(verify)?
        };
        Ok(Settings {
            endpoint: endpoint(&config),
            config,
            tls: MakeRustlsConnect::new(tls),
            tls_summary,
            schema,
        })
    }

    /// Opens one connection outside the pool (migrations, the listener).
    pub async fn connect(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<
                tokio_postgres::Socket,
                <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<
                    tokio_postgres::Socket,
                >>::Stream,
            >,
        ),
    > {
        self.config
            .connect(self.tls.clone())
            .await
            .map_err(|e| self.connect_error(e))
    }

    /// A connection failure, naming the server, the cause and (for TLS) the options in force.
    pub fn connect_error(&self, e: tokio_postgres::Error) -> AdapterError {
        let err = super::error::pg(&format!("connect to {}", self.endpoint), e);
        let lower = err.message.to_ascii_lowercase();
        if !["tls", "ssl", "certificate", "alert", "handshake"]
            .iter()
            .any(|w| lower.contains(w))
        {
            return err;
        }
        AdapterError::config(format!(
            "{} (TLS: {}; check that sslrootcert / STEM_TLS_CA_CERT is the CA that signed the \
             server's certificate, that the server accepts the client certificate, or lower \
             sslmode for a test)",
            err.message, self.tls_summary
        ))
    }
}

/// The schema for a namespace: lowercase letters, digits and `_`, at most 63 bytes.
pub(crate) fn schema_name(namespace: &str) -> Result<String> {
    let mut schema: String = namespace
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    if schema.is_empty() || schema.len() > 63 {
        return Err(AdapterError::config(format!(
            "namespace {namespace:?} cannot name a postgres schema (1 to 63 characters)"
        )));
    }
    if schema.starts_with(|c: char| c.is_ascii_digit()) || schema.starts_with("pg_") {
        schema.insert_str(0, "stem_");
        schema.truncate(63);
    }
    Ok(schema)
}

fn parse_mode(value: &str) -> Result<TlsMode> {
    Ok(match value {
        "disable" | "allow" => TlsMode::Disable,
        "prefer" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" => TlsMode::VerifyFull,
        other => {
            return Err(AdapterError::config(format!(
                "invalid sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full"
            )))
        }
    })
}

fn mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyFull => "verify-full",
    }
}

/// `host:port/database` (the first host; sockets by path).
fn endpoint(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("{host}:{port}/{db}")
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_safe_identifiers() {
        assert_eq!(schema_name("stem").unwrap(), "stem");
        assert_eq!(schema_name("My-App.v2").unwrap(), "my_app_v2");
        assert_eq!(schema_name("1x").unwrap(), "stem_1x");
        assert!(schema_name("").is_err());
    }

    #[test]
    fn libpq_ssl_modes_are_accepted() {
        let s = Settings::parse(
            "postgres://u@db.example:5432/app?sslmode=verify-full&application_name=w",
            "stem",
        )
        .unwrap();
        assert_eq!(s.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(s.config.get_application_name(), Some("w"));
        assert_eq!(
            s.config.get_options(),
            Some(
                "-c search_path=stem -c idle_in_transaction_session_timeout=10000 \
                 -c lock_timeout=15000"
            )
        );
        let s = Settings::parse("postgresql://u@h/db?sslmode=disable", "ns").unwrap();
        assert_eq!(s.config.get_ssl_mode(), SslMode::Disable);
        assert!(Settings::parse("postgres://u@h/db?sslmode=bogus", "ns").is_err());
    }
}
