//! The redis client for a URL: `rediss://` over rustls with the `STEM_TLS_*` options
//! (`crate::tls`): a private CA, a client identity for servers that require one, or no
//! verification at all (`STEM_TLS_ALLOW_INSECURE`, which the URL's `#insecure` also asks for).

use crate::tls::{TlsOptions, Verify};
use crate::{AdapterError, Result};
use redis::{ClientTlsConfig, TlsCertificates};

/// The TLS settings of a `rediss` URL, read with `var`: the certificates to use (none: the URL's
/// own mode with the system trust store), whether verification is off, and a summary.
pub struct Settings {
    pub certificates: Option<TlsCertificates>,
    pub insecure: bool,
    pub summary: String,
}

/// The settings for `url`; `Ok(None)` for a plain (non-TLS) URL, after warning about unused
/// certificate variables. `tls_scheme` says whether the URL asks for TLS.
pub fn settings(
    tls_scheme: bool,
    url: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Settings>> {
    crate::tls::install_provider();
    let options = TlsOptions::from_env(var);
    if !tls_scheme {
        if options.has_files() {
            tracing::warn!(
                "STEM_TLS_* certificates are set but the redis URL is not rediss://: the \
                 connection is not encrypted and the certificates are not used"
            );
        }
        return Ok(None);
    }
    let insecure = options.insecure || url.ends_with("#insecure");
    let verify = if insecure { Verify::Off } else { Verify::Full };
    if insecure {
        tracing::warn!(
            "STEM_TLS_ALLOW_INSECURE: the redis server's certificate and host name are NOT \
             verified; anyone on the path can read and change every task"
        );
    }
    let summary = options.describe(verify);
    let certificates = if options.has_files() {
        Some(TlsCertificates {
            client_tls: options
                .identity_pem()?
                .map(|(client_cert, client_key)| ClientTlsConfig {
                    client_cert,
                    client_key,
                }),
            root_cert: options.ca_pem()?,
        })
    } else {
        None
    };
    Ok(Some(Settings {
        certificates,
        insecure,
        summary,
    }))
}

/// A client for `url`, and what its TLS options are (for messages), read with `var`.
pub fn client(url: &str, var: impl Fn(&str) -> Option<String>) -> Result<(redis::Client, String)> {
    let invalid = |e: redis::RedisError| {
        AdapterError::config(format!("invalid redis URL {}: {e}", crate::redact(url)))
    };
    let Some(tls) = settings(url.starts_with("rediss://"), url, var)? else {
        return Ok((redis::Client::open(url).map_err(invalid)?, "TLS off".into()));
    };
    let url = if tls.insecure && !url.contains('#') {
        format!("{url}#insecure")
    } else {
        url.to_string()
    };
    let client = match tls.certificates {
        None => redis::Client::open(url.as_str()),
        Some(certificates) => redis::Client::build_with_tls(url.as_str(), certificates),
    }
    .map_err(invalid)?;
    Ok((client, tls.summary))
}

/// Whether a connection error is a TLS failure (a refused certificate either way).
pub fn is_tls_failure(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "alert",
        "unknownissuer",
        "peer",
    ]
    .iter()
    .any(|word| text.contains(word))
}

/// The message for a failed TLS connection: the endpoint, the options, what to try.
pub fn failure(url: &str, summary: &str, detail: &str) -> AdapterError {
    AdapterError::config(format!(
        "redis: TLS connection to {} failed: {detail} (TLS: {summary}; check that \
         STEM_TLS_CA_CERT is the CA that signed the server's certificate, that \
         STEM_TLS_CLIENT_CERT/STEM_TLS_CLIENT_KEY are set when the server requires client \
         certificates and signed by a CA it trusts, or set STEM_TLS_ALLOW_INSECURE=true for a \
         test only)",
        crate::redact(url)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn insecure_only_applies_to_rediss() {
        let (made, summary) = client(
            "rediss://h:1/0",
            vars(&[("STEM_TLS_ALLOW_INSECURE", "true")]),
        )
        .unwrap();
        assert!(summary.contains("NOT verifying"), "{summary}");
        assert!(format!("{:?}", made.get_connection_info().addr).contains("insecure: true"));
        let (_, summary) =
            client("redis://h/0", vars(&[("STEM_TLS_ALLOW_INSECURE", "1")])).unwrap();
        assert_eq!(summary, "TLS off");
    }

    #[test]
    fn certificate_files_are_loaded_and_missing_ones_named() {
        let err = client("rediss://h", vars(&[("STEM_TLS_CA_CERT", "/no/ca.pem")])).unwrap_err();
        assert!(err.message.contains("STEM_TLS_CA_CERT /no/ca.pem"), "{err}");
        assert!(client("redis://h", vars(&[("STEM_TLS_CA_CERT", "/no/ca.pem")])).is_ok());
    }

    #[test]
    fn tls_failures_are_told_apart_and_never_show_the_password() {
        assert!(is_tls_failure("invalid peer certificate: UnknownIssuer"));
        assert!(is_tls_failure("received fatal alert: CertificateRequired"));
        assert!(!is_tls_failure("Connection refused (os error 111)"));
        let err = failure("rediss://:hunter2@h:6380/0", "CA: x", "alert");
        assert!(!err.message.contains("hunter2"), "{err}");
        assert!(err.message.contains("STEM_TLS_CLIENT_CERT"), "{err}");
    }
}
