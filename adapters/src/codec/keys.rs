//! Payload security settings from the environment: signing keys (HMAC-SHA256 secrets, or
//! Ed25519 private keys to sign and public keys to verify), encryption keys (AES-256-GCM), each
//! as `ID:BASE64` lists with one active id, so keys rotate without downtime (verify and decrypt
//! with every listed key; sign and encrypt with the active one).

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::BTreeMap;

pub(super) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    Ed25519,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

pub(super) enum Verifier {
    Hmac(Vec<u8>),
    Ed25519(VerifyingKey),
}

pub(super) enum Signer {
    Hmac(Vec<u8>),
    Ed25519(Box<SigningKey>),
}

pub struct Signing {
    pub algorithm: Algorithm,
    pub(super) verifiers: BTreeMap<String, Verifier>,
    /// The active key, when this process can sign (an Ed25519 reader may only verify).
    pub(super) signer: Option<(String, Signer)>,
    /// `STEM_SIGNING_ALLOW_UNSIGNED=true`: accept envelopes and records that carry no signature
    /// at all (a fleet migrating to signing); a wrong signature is refused all the same.
    pub allow_unsigned: bool,
}

impl Signing {
    /// Whether this process holds the active key (HMAC always; Ed25519 with a private key).
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }
}

pub struct Sealing {
    pub(super) keys: BTreeMap<String, Aes256Gcm>,
    pub(super) active: String,
}

/// What the codec does to payloads besides encoding them.
#[derive(Default)]
pub struct Security {
    pub signing: Option<Signing>,
    pub sealing: Option<Sealing>,
    /// `STEM_SQL_ENQUEUE=trust`: tasks the Postgres SQL functions wrote (unsigned, arguments in
    /// clear) are accepted despite signing and encryption (see [`super::sql_trust`]).
    pub trust_sql: bool,
}

/// `ID:BASE64,ID:BASE64` from `var`, each decoded to exactly `len` bytes when given.
fn key_list(
    var: &str,
    value: &str,
    len: Option<usize>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, b64) = item
            .split_once(':')
            .ok_or_else(|| format!("{var}: expected ID:BASE64, found an entry without ':'"))?;
        if id.is_empty() || id.contains(':') {
            return Err(format!("{var}: a key id must be non-empty and without ':'"));
        }
        let bytes = B64
            .decode(b64.trim())
            .map_err(|e| format!("{var}: key {id:?} is not base64 ({e})"))?;
        if let Some(n) = len {
            if bytes.len() != n {
                return Err(format!(
                    "{var}: key {id:?} has {} bytes, expected {n}",
                    bytes.len()
                ));
            }
        }
        if bytes.is_empty() {
            return Err(format!("{var}: key {id:?} is empty"));
        }
        out.insert(id.to_string(), bytes);
    }
    Ok(out)
}

fn active(
    var: &str,
    get: &dyn Fn(&str) -> Option<String>,
    ids: &[&String],
) -> Result<Option<String>, String> {
    match get(var) {
        Some(id) => {
            if ids.iter().any(|k| **k == id) {
                Ok(Some(id))
            } else {
                Err(format!(
                    "{var}={id:?} names no listed key (listed: {})",
                    ids.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        None if ids.len() == 1 => Ok(Some(ids[0].clone())),
        None if ids.is_empty() => Ok(None),
        None => Err(format!(
            "{var} must name the active key when several are listed"
        )),
    }
}

impl Security {
    /// Reads `STEM_SIGNING_*` and `STEM_ENCRYPTION_*` from the process environment.
    pub fn from_env() -> Result<Security, String> {
        Security::from_vars(&|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Security, String> {
        Ok(Security {
            signing: signing(get)?,
            sealing: sealing(get)?,
            trust_sql: super::sql_trust::trust_from(get)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.signing.is_none() && self.sealing.is_none()
    }

    /// For a command that writes envelopes or records: with signing configured it must be able
    /// to sign them (an Ed25519 process holding only public keys would write what every reader
    /// refuses, or worse, pass on what it cannot re-sign).
    pub fn check_can_sign(&self) -> Result<(), String> {
        match &self.signing {
            Some(s) if !s.can_sign() => Err(format!(
                "STEM_SIGNING_PRIVATE_KEYS: this command writes tasks or records and must sign \
                 them, but it holds no {} private key (STEM_SIGNING_PUBLIC_KEYS only verify)",
                s.algorithm.name()
            )),
            _ => Ok(()),
        }
    }
}

fn signing(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Signing>, String> {
    let algorithm = match get("STEM_SIGNING_ALGORITHM").as_deref().map(str::trim) {
        None => {
            if get("STEM_SIGNING_KEYS").is_some() {
                Algorithm::HmacSha256
            } else if get("STEM_SIGNING_PUBLIC_KEYS").is_some()
                || get("STEM_SIGNING_PRIVATE_KEYS").is_some()
            {
                Algorithm::Ed25519
            } else {
                return Ok(None);
            }
        }
        Some("hmac-sha256") => Algorithm::HmacSha256,
        Some("ed25519") => Algorithm::Ed25519,
        Some(other) => {
            return Err(format!(
                "STEM_SIGNING_ALGORITHM={other:?}: expected hmac-sha256 or ed25519"
            ))
        }
    };
    let mut verifiers = BTreeMap::new();
    let mut signers = BTreeMap::new();
    match algorithm {
        Algorithm::HmacSha256 => {
            let keys = key_list(
                "STEM_SIGNING_KEYS",
                &get("STEM_SIGNING_KEYS").unwrap_or_default(),
                None,
            )?;
            if keys.is_empty() {
                return Err(
                    "STEM_SIGNING_ALGORITHM=hmac-sha256 needs STEM_SIGNING_KEYS=ID:BASE64,..."
                        .into(),
                );
            }
            for (id, k) in keys {
                verifiers.insert(id.clone(), Verifier::Hmac(k.clone()));
                signers.insert(id, Signer::Hmac(k));
            }
        }
        Algorithm::Ed25519 => {
            let private = key_list(
                "STEM_SIGNING_PRIVATE_KEYS",
                &get("STEM_SIGNING_PRIVATE_KEYS").unwrap_or_default(),
                Some(32),
            )?;
            let public = key_list(
                "STEM_SIGNING_PUBLIC_KEYS",
                &get("STEM_SIGNING_PUBLIC_KEYS").unwrap_or_default(),
                Some(32),
            )?;
            for (id, k) in private {
                let seed: [u8; 32] = k.try_into().expect("checked length");
                let sk = SigningKey::from_bytes(&seed);
                verifiers.insert(id.clone(), Verifier::Ed25519(sk.verifying_key()));
                signers.insert(id, Signer::Ed25519(Box::new(sk)));
            }
            for (id, k) in public {
                let bytes: [u8; 32] = k.try_into().expect("checked length");
                let vk = VerifyingKey::from_bytes(&bytes).map_err(|e| {
                    format!(
                        "STEM_SIGNING_PUBLIC_KEYS: key {id:?} is not an Ed25519 public key ({e})"
                    )
                })?;
                verifiers.insert(id, Verifier::Ed25519(vk));
            }
            if verifiers.is_empty() {
                return Err("STEM_SIGNING_ALGORITHM=ed25519 needs STEM_SIGNING_PUBLIC_KEYS or STEM_SIGNING_PRIVATE_KEYS=ID:BASE64,...".into());
            }
        }
    }
    let ids: Vec<&String> = signers.keys().collect();
    let signer = match active("STEM_SIGNING_ACTIVE_KEY", get, &ids)? {
        Some(id) => signers.remove(&id).map(|s| (id, s)),
        None => None,
    };
    let allow_unsigned = match get("STEM_SIGNING_ALLOW_UNSIGNED").as_deref().map(str::trim) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(format!(
                "STEM_SIGNING_ALLOW_UNSIGNED={other:?}: expected true or false"
            ))
        }
    };
    Ok(Some(Signing {
        algorithm,
        verifiers,
        signer,
        allow_unsigned,
    }))
}

fn sealing(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Sealing>, String> {
    let Some(list) = get("STEM_ENCRYPTION_KEYS") else {
        return Ok(None);
    };
    let raw = key_list("STEM_ENCRYPTION_KEYS", &list, Some(32))?;
    let ids: Vec<&String> = raw.keys().collect();
    let active = active("STEM_ENCRYPTION_ACTIVE_KEY", get, &ids)?
        .ok_or("STEM_ENCRYPTION_KEYS lists no key")?;
    let keys = raw
        .iter()
        .map(|(id, k)| {
            (
                id.clone(),
                Aes256Gcm::new_from_slice(k).expect("32-byte key"),
            )
        })
        .collect();
    Ok(Some(Sealing { keys, active }))
}
