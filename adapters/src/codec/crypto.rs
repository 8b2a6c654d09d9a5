//! Signing and sealing of byte strings with the configured keys: signatures are
//! `ALGORITHM:KEY_ID:BASE64`, sealed data `KEY_ID:BASE64(nonce ‖ ciphertext)` with associated
//! data binding it to one task.

use super::keys::{Sealing, Signer, Signing, Verifier, B64};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{AeadCore, Nonce};
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, Verifier as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

impl Signing {
    /// The signature of `data` with the active key, when this process holds one.
    pub(super) fn sign(&self, data: &[u8]) -> Option<String> {
        let (id, signer) = self.signer.as_ref()?;
        let bytes = match signer {
            Signer::Hmac(k) => {
                let mut mac = HmacSha256::new_from_slice(k).expect("any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Signer::Ed25519(k) => k.sign(data).to_bytes().to_vec(),
        };
        Some(format!(
            "{}:{id}:{}",
            self.algorithm.name(),
            B64.encode(bytes)
        ))
    }

    /// Checks `signature` over `data`; the error says why it does not hold.
    pub(super) fn verify(&self, data: &[u8], signature: Option<&str>) -> Result<(), String> {
        let sig = signature.ok_or("signature: missing (signing is required)")?;
        let mut parts = sig.splitn(3, ':');
        let (alg, id, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(i), Some(b)) => (a, i, b),
            _ => return Err("signature: not ALGORITHM:KEY:BASE64".into()),
        };
        if alg != self.algorithm.name() {
            return Err(format!(
                "signature: algorithm {alg:?}, expected {}",
                self.algorithm.name()
            ));
        }
        let verifier = self
            .verifiers
            .get(id)
            .ok_or_else(|| format!("signature: unknown key {id:?}"))?;
        let bytes = B64
            .decode(b64)
            .map_err(|_| "signature: not base64".to_string())?;
        let ok = match verifier {
            Verifier::Hmac(k) => {
                let mut mac = HmacSha256::new_from_slice(k).expect("any key length");
                mac.update(data);
                mac.verify_slice(&bytes).is_ok()
            }
            Verifier::Ed25519(vk) => Signature::from_slice(&bytes)
                .map(|s| vk.verify(data, &s).is_ok())
                .unwrap_or(false),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("signature: does not match (key {id:?}): the payload was changed or signed by another key"))
        }
    }
}

impl Sealing {
    pub(super) fn seal(&self, plain: &[u8], aad: &[u8]) -> String {
        let key = &self.keys[&self.active];
        let nonce = aes_gcm::Aes256Gcm::generate_nonce(&mut aes_gcm::aead::OsRng);
        let ct = key
            .encrypt(&nonce, Payload { msg: plain, aad })
            .expect("AES-GCM encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{}:{}", self.active, B64.encode(out))
    }

    pub(super) fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, String> {
        let (id, b64) = sealed
            .split_once(':')
            .ok_or("encryption: sealed data is not KEY:BASE64")?;
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| format!("encryption: unknown key {id:?}"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| "encryption: not base64".to_string())?;
        if raw.len() < 12 {
            return Err("encryption: sealed data too short".into());
        }
        let (nonce, ct) = raw.split_at(12);
        key.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| format!("encryption: cannot decrypt with key {id:?}: moved from another task, or tampered with"))
    }
}
