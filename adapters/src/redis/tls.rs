//! TLS settings for `rediss://` URLs from the `STEM_TLS_*` variables.
//!
//! The redis crate (0.27, built with native-tls) verifies the server against the system trust
//! store and supports one switch: `#insecure` (no certificate or host name check). So:
//! - `STEM_TLS_ALLOW_INSECURE=1` turns a `rediss://` URL into `rediss://…#insecure`;
//! - `STEM_TLS_CA_CERT`, `STEM_TLS_CLIENT_CERT`, `STEM_TLS_CLIENT_KEY` cannot be passed to it and
//!   are refused with a clear message (for a private CA, OpenSSL's `SSL_CERT_FILE` works: the
//!   system trust store honours it). Custom CA and client certificates need redis-rs's rustls
//!   build (`Client::build_with_tls`), which this crate does not enable.

use crate::{AdapterError, Result};

/// The URL to give the redis crate, after applying the `STEM_TLS_*` variables read by `var`.
pub fn effective_url(url: &str, var: impl Fn(&str) -> Option<String>) -> Result<String> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let tls = url.starts_with("rediss://");
    for name in [
        "STEM_TLS_CA_CERT",
        "STEM_TLS_CLIENT_CERT",
        "STEM_TLS_CLIENT_KEY",
    ] {
        if tls && set(name).is_some() {
            return Err(AdapterError::config(format!(
                "{name} is set, but the redis backend cannot load certificates: it verifies \
                 rediss:// servers against the system trust store (point SSL_CERT_FILE at a \
                 private CA bundle instead) and does not support client certificates"
            )));
        }
    }
    let insecure = set("STEM_TLS_ALLOW_INSECURE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
    if tls && insecure && !url.contains('#') {
        return Ok(format!("{url}#insecure"));
    }
    Ok(url.to_string())
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
        let v = vars(&[("STEM_TLS_ALLOW_INSECURE", "true")]);
        assert_eq!(
            effective_url("rediss://h:1/0", &v).unwrap(),
            "rediss://h:1/0#insecure"
        );
        assert_eq!(effective_url("redis://h/0", &v).unwrap(), "redis://h/0");
    }

    #[test]
    fn certificates_are_refused_with_a_reason() {
        let err =
            effective_url("rediss://h", vars(&[("STEM_TLS_CA_CERT", "/ca.pem")])).unwrap_err();
        assert!(err.message.contains("STEM_TLS_CA_CERT"), "{err}");
        assert!(effective_url("redis://h", vars(&[("STEM_TLS_CA_CERT", "/ca.pem")])).is_ok());
    }
}
