//! Replays protocol/vectors/signing.jsonl through the codec: each `canonical` case must give
//! exactly its canonical text, and each signed case its signed form and signature (HMAC and
//! Ed25519 are deterministic), which then verifies, and stops verifying once a field changes.

use serde_json::Value;
use stem_adapters::codec::canonical::{canonical, signed_form};
use stem_adapters::codec::{sign_value, verify_value, Security};

fn security(key: &Value) -> Security {
    let (var, value) = match key["algorithm"].as_str().unwrap() {
        "hmac-sha256" => ("STEM_SIGNING_KEYS", key["secret"].as_str().unwrap()),
        "ed25519" => ("STEM_SIGNING_PRIVATE_KEYS", key["seed"].as_str().unwrap()),
        other => panic!("unknown algorithm {other}"),
    };
    let list = format!("{}:{value}", key["id"].as_str().unwrap());
    Security::from_vars(&|k| (k == var).then(|| list.clone())).expect("vector keys")
}

#[test]
fn the_signing_vectors_hold_in_rust() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/vectors/signing.jsonl");
    let text = std::fs::read_to_string(&path).expect("the signing vectors");
    let (mut canonicals, mut signed) = (0, 0);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let name = case["case"].as_str().unwrap();
        let value = &case["value"];
        if let Some(want) = case.get("canonical") {
            let got = String::from_utf8(canonical(value)).unwrap();
            assert_eq!(got, want.as_str().unwrap(), "{name}");
            canonicals += 1;
            continue;
        }
        let form = String::from_utf8(signed_form(value).unwrap()).unwrap();
        assert_eq!(form, case["signed_form"].as_str().unwrap(), "{name}");
        let sec = security(&case["key"]);
        let signature = sign_value(&sec, value).expect("the key signs");
        assert_eq!(signature, case["signature"].as_str().unwrap(), "{name}");
        let mut stored = value.clone();
        stored["signature"] = Value::String(signature);
        verify_value(&sec, &stored).unwrap_or_else(|e| panic!("{name}: {e}"));
        stored["id"] = Value::String("another".into());
        let e = verify_value(&sec, &stored).unwrap_err();
        assert!(e.starts_with("signature: does not match"), "{name}: {e}");
        signed += 1;
    }
    assert!(
        canonicals >= 5 && signed >= 8,
        "{canonicals} canonical and {signed} signed cases"
    );
}
