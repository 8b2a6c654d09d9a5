//! One TLS setup for the network stores (Redis and Postgres): which CA to trust, which client
//! identity to present and how strictly to check the server, read from the `STEM_TLS_*`
//! variables (or a Postgres URL's `sslrootcert`/`sslcert`/`sslkey`) and loaded into rustls.
//!
//! - `STEM_TLS_CA_CERT`: a PEM bundle of CAs to trust instead of the system store;
//! - `STEM_TLS_CLIENT_CERT` + `STEM_TLS_CLIENT_KEY`: the client's certificate chain and key (PEM),
//!   for servers that ask for one (mutual TLS); both or neither;
//! - `STEM_TLS_ALLOW_INSECURE=true`: no certificate or host name check (logged loudly).
//!
//! Descriptions of the options name files, never their contents.

mod verify;

use crate::{AdapterError, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;

pub use verify::Verify;

/// A PEM file and the setting it came from (`STEM_TLS_CA_CERT`, `sslrootcert`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemFile {
    pub path: PathBuf,
    pub from: &'static str,
}

impl PemFile {
    pub fn new(path: impl Into<PathBuf>, from: &'static str) -> PemFile {
        PemFile {
            path: path.into(),
            from,
        }
    }

    fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| self.error(e))
    }

    fn error(&self, detail: impl std::fmt::Display) -> AdapterError {
        AdapterError::config(format!("{} {}: {detail}", self.from, self.path.display()))
    }
}

/// The TLS options for one store connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub ca: Option<PemFile>,
    pub cert: Option<PemFile>,
    pub key: Option<PemFile>,
    /// Skip every check of the server's certificate.
    pub insecure: bool,
}

/// Makes ring the process's rustls provider (for clients built inside other crates, such as the
/// redis one), unless one is installed already.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether an environment-style value means "on".
pub fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl TlsOptions {
    /// The options the `STEM_TLS_*` variables read by `var` ask for.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> TlsOptions {
        let set = |name: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| PemFile::new(v.trim(), name))
        };
        TlsOptions {
            ca: set("STEM_TLS_CA_CERT"),
            cert: set("STEM_TLS_CLIENT_CERT"),
            key: set("STEM_TLS_CLIENT_KEY"),
            insecure: var("STEM_TLS_ALLOW_INSECURE").is_some_and(|v| truthy(&v)),
        }
    }

    /// Whether any file is named (a CA or a client identity).
    pub fn has_files(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// What is in force, for messages: file names and the verification, never key material.
    pub fn describe(&self, verify: Verify) -> String {
        let mut parts = vec![match &self.ca {
            Some(ca) => format!("CA {} ({})", ca.path.display(), ca.from),
            None => "CA: the system trust store".to_string(),
        }];
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => parts.push(format!(
                "client certificate {} with key {}",
                cert.path.display(),
                key.path.display()
            )),
            _ => parts.push("no client certificate".to_string()),
        }
        parts.push(verify.describe().to_string());
        parts.join(", ")
    }

    /// The CA bundle's PEM bytes, when one is named; checked to hold at least one certificate.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>> {
        let Some(ca) = &self.ca else { return Ok(None) };
        let pem = ca.read()?;
        let count = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| ca.error(format!("not a PEM certificate bundle: {e}")))?
            .len();
        if count == 0 {
            return Err(ca.error("holds no PEM certificate"));
        }
        Ok(Some(pem))
    }

    /// The client certificate chain and key PEM bytes, when both are named; checked to parse.
    pub fn identity_pem(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match (&self.cert, &self.key) {
            (None, None) => Ok(None),
            (Some(cert), None) => Err(cert.error(format!(
                "a client certificate needs its key too ({} is not set)",
                key_setting(cert.from)
            ))),
            (None, Some(key)) => Err(key.error(format!(
                "a client key needs its certificate too ({} is not set)",
                cert_setting(key.from)
            ))),
            (Some(cert), Some(key)) => {
                let cert_pem = cert.read()?;
                let key_pem = key.read()?;
                parse_identity(cert, &cert_pem, key, &key_pem)?;
                Ok(Some((cert_pem, key_pem)))
            }
        }
    }

    /// A rustls client configuration: the roots, the client identity, the verification.
    pub fn client_config(&self, verify: Verify) -> Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match self.ca_pem()? {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                    roots.add(cert).map_err(|e| {
                        self.ca
                            .as_ref()
                            .expect("a CA was read")
                            .error(format!("{e}"))
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs().unwrap_or_default();
                roots.add_parsable_certificates(native);
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| AdapterError::config(format!("TLS setup failed: {e}")))?;
        let builder = match verify {
            Verify::Full if !self.insecure => builder.with_root_certificates(roots),
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(verify::verifier(
                    verify,
                    self.insecure,
                    roots,
                    provider,
                )?),
        };
        match self.identity_pem()? {
            None => Ok(builder.with_no_client_auth()),
            Some((cert_pem, key_pem)) => {
                let (cert, key) = (self.cert.as_ref(), self.key.as_ref());
                let (chain, key_der) =
                    parse_identity(cert.unwrap(), &cert_pem, key.unwrap(), &key_pem)?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    cert.unwrap()
                        .error(format!("unusable client identity: {e}"))
                })
            }
        }
    }
}

fn key_setting(cert_from: &str) -> &'static str {
    if cert_from == "sslcert" {
        "sslkey"
    } else {
        "STEM_TLS_CLIENT_KEY"
    }
}

fn cert_setting(key_from: &str) -> &'static str {
    if key_from == "sslkey" {
        "sslcert"
    } else {
        "STEM_TLS_CLIENT_CERT"
    }
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn parse_identity(
    cert: &PemFile,
    cert_pem: &[u8],
    key: &PemFile,
    key_pem: &[u8],
) -> Result<Identity> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| cert.error(format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(cert.error("holds no PEM certificate"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| key.error(format!("not a PEM private key: {e}")))?;
    Ok((chain, key_der))
}

#[cfg(test)]
mod tests;
