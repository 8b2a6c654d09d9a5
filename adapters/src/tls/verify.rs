//! How strictly a server's certificate is checked: the whole chain and the host name, the chain
//! only (libpq's `verify-ca`), or nothing (`sslmode=require`, `STEM_TLS_ALLOW_INSECURE`).

use crate::{AdapterError, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The check made of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Chain to a trusted CA and a name matching the host.
    Full,
    /// Chain to a trusted CA, any name.
    Chain,
    /// Encryption only: any certificate.
    Off,
}

impl Verify {
    pub fn describe(self) -> &'static str {
        match self {
            Verify::Full => "verifying the certificate chain and host name",
            Verify::Chain => "verifying the certificate chain (not the host name)",
            Verify::Off => "NOT verifying the server's certificate",
        }
    }
}

/// A verifier for `Chain` or `Off` (or anything with `insecure`).
pub(super) fn verifier(
    verify: Verify,
    insecure: bool,
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>> {
    let inner = if insecure || verify == Verify::Off || roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| AdapterError::config(format!("TLS setup failed: {e}")))?,
        )
    };
    if inner.is_none() && !insecure && verify == Verify::Chain {
        return Err(AdapterError::config(
            "TLS: verifying the certificate chain needs a CA (sslrootcert or STEM_TLS_CA_CERT), \
             and the system trust store is empty",
        ));
    }
    Ok(Arc::new(Relaxed { inner, provider }))
}

/// Checks the chain with `inner` (ignoring the host name), or nothing when `inner` is `None`;
/// handshake signatures are always checked.
#[derive(Debug)]
struct Relaxed {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
