//! TLS from the URL's `sslmode`, against a real server (`STEM_TEST_POSTGRES_URL`; skipped when
//! unset, and the encrypted cases skipped when the server has `ssl = off`): `require` encrypts
//! without checking the certificate, `verify-full` refuses a certificate that no trusted root
//! signed (a test server's self-signed one), `disable` stays in plain text.

use stem_adapters::{postgres, ConnectOptions};

fn with_sslmode(base: &str, mode: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}sslmode={mode}")
}

async fn server_has_ssl(url: &str) -> bool {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client.query_one("SHOW ssl", &[]).await.unwrap();
    row.get::<_, String>(0) == "on"
}

#[tokio::test]
async fn sslmode_is_honoured() {
    let Ok(base) = std::env::var("STEM_TEST_POSTGRES_URL") else {
        eprintln!("skipping: STEM_TEST_POSTGRES_URL is not set");
        return;
    };
    // Every case shares one namespace: a failed open must not leave a half-made schema behind.
    let options = ConnectOptions {
        namespace: "stem_tls_test".to_string(),
    };
    postgres::migrate(&with_sslmode(&base, "disable"), &options)
        .await
        .unwrap();
    if !server_has_ssl(&base).await {
        eprintln!("skipping the encrypted cases: the server has ssl = off");
        return;
    }
    postgres::migrate(&with_sslmode(&base, "require"), &options)
        .await
        .unwrap();
    let err = postgres::migrate(&with_sslmode(&base, "verify-full"), &options)
        .await
        .expect_err("verify-full must refuse an untrusted certificate");
    assert_eq!(err.kind(), stem_adapters::ErrorKind::Config, "{err}");
    let err = postgres::migrate(&with_sslmode(&base, "bogus"), &options)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), stem_adapters::ErrorKind::Config);
}
