//! The `STEM_TLS_*` variables, the checks made of the files they name, and descriptions that
//! never hold key material.

use super::*;

fn vars<'a>(pairs: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn variables_name_the_files_and_the_insecure_switch() {
    let env = [
        ("STEM_TLS_CA_CERT", "/etc/ca.pem".to_string()),
        ("STEM_TLS_CLIENT_CERT", " /c.pem ".to_string()),
        ("STEM_TLS_CLIENT_KEY", "".to_string()),
        ("STEM_TLS_ALLOW_INSECURE", "TRUE".to_string()),
    ];
    let options = TlsOptions::from_env(vars(&env));
    assert_eq!(
        options.ca,
        Some(PemFile::new("/etc/ca.pem", "STEM_TLS_CA_CERT"))
    );
    assert_eq!(
        options.cert,
        Some(PemFile::new("/c.pem", "STEM_TLS_CLIENT_CERT"))
    );
    assert_eq!(options.key, None, "an empty variable is unset");
    assert!(options.insecure);
    assert!(!TlsOptions::from_env(vars(&[("STEM_TLS_ALLOW_INSECURE", "0".into())])).insecure);
}

#[test]
fn a_certificate_without_its_key_is_refused_naming_both_settings() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "x").unwrap();
    let options = TlsOptions {
        cert: Some(PemFile::new(&cert, "STEM_TLS_CLIENT_CERT")),
        ..TlsOptions::default()
    };
    let err = options.identity_pem().unwrap_err().to_string();
    assert!(
        err.contains("STEM_TLS_CLIENT_CERT") && err.contains("STEM_TLS_CLIENT_KEY"),
        "{err}"
    );
    let err = options.client_config(Verify::Full).unwrap_err().to_string();
    assert!(err.contains("STEM_TLS_CLIENT_KEY"), "{err}");
}

#[test]
fn missing_or_garbage_files_name_the_setting_and_the_path() {
    let options = TlsOptions {
        ca: Some(PemFile::new("/no/such/ca.pem", "sslrootcert")),
        ..TlsOptions::default()
    };
    let err = options.client_config(Verify::Full).unwrap_err().to_string();
    assert!(err.contains("sslrootcert /no/such/ca.pem"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let options = TlsOptions {
        ca: Some(PemFile::new(&ca, "STEM_TLS_CA_CERT")),
        ..TlsOptions::default()
    };
    let err = options.ca_pem().unwrap_err().to_string();
    assert!(
        err.contains("STEM_TLS_CA_CERT") && err.contains("no PEM certificate"),
        "{err}"
    );
}

#[test]
fn descriptions_name_files_and_checks_never_contents() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nSECRET\n").unwrap();
    let options = TlsOptions {
        cert: Some(PemFile::new("/c.pem", "STEM_TLS_CLIENT_CERT")),
        key: Some(PemFile::new(&key, "STEM_TLS_CLIENT_KEY")),
        ..TlsOptions::default()
    };
    let text = options.describe(Verify::Chain);
    assert!(text.contains("system trust store"), "{text}");
    assert!(text.contains("client certificate /c.pem"), "{text}");
    assert!(text.contains("not the host name"), "{text}");
    assert!(!text.contains("SECRET"));
    assert!(TlsOptions::default()
        .describe(Verify::Off)
        .contains("NOT verifying"));
}
