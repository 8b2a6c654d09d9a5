//! The canonical JSON form that signatures cover (defined in protocol/PROTOCOL.md, "Signing"):
//! object members sorted by key in Unicode code point order, no whitespace, strings escaped as
//! `JSON.stringify` escapes them, numbers written as ECMAScript's `Number.prototype.toString`
//! writes them (integers too large for a double keep their parsed digits). The Python and Node
//! SDKs implement the same rules and replay the same vectors (protocol/vectors/signing.jsonl).

use serde_json::{Map, Number, Value};
use std::fmt::Write;

/// The canonical bytes of `value`.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, value);
    out.into_bytes()
}

/// The canonical bytes of the object `value` without its `signature` member: what a
/// signature covers. `None` when `value` is not an object.
pub fn signed_form(value: &Value) -> Option<Vec<u8>> {
    let obj = value.as_object()?;
    let mut out = String::new();
    write_object(&mut out, obj, Some("signature"));
    Some(out.into_bytes())
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(obj) => write_object(out, obj, None),
    }
}

fn write_object(out: &mut String, obj: &Map<String, Value>, skip: Option<&str>) {
    // Rust orders strings by their UTF-8 bytes, which is Unicode code point order.
    let mut keys: Vec<&String> = obj.keys().filter(|k| Some(k.as_str()) != skip).collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, &obj[key]);
    }
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        out.push_str(&ecma_number(n.as_f64().unwrap_or(0.0)));
    }
}

/// `Number.prototype.toString()` of a finite double (ECMA-262, Number::toString with radix 10).
pub fn ecma_number(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        // JSON has no such numbers; serde_json never yields them.
        return "null".into();
    }
    // The shortest digits that read back as `f`, in scientific form: `d.ddde-7`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().expect("an integer exponent") + 1;
    let mut s = String::new();
    if f < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.push_str(&"0".repeat((n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.push_str(&"0".repeat((-n) as usize));
        s.push_str(&digits);
    } else {
        let e = n - 1;
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let _ = write!(s, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(json: &str) -> String {
        String::from_utf8(canonical(&serde_json::from_str(json).unwrap())).unwrap()
    }

    #[test]
    fn numbers_are_written_as_ecmascript_writes_them() {
        for (input, want) in [
            ("1.0", "1"),
            ("0.1", "0.1"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("1.5e-7", "1.5e-7"),
            ("0.000001", "0.000001"),
            ("123.456", "123.456"),
            ("-2.5e+30", "-2.5e+30"),
            ("5e-324", "5e-324"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9007199254740993", "-9007199254740993"),
            ("1E2", "100"),
        ] {
            assert_eq!(canon(input), want, "{input}");
        }
    }

    #[test]
    fn keys_sort_by_code_point_and_strings_escape_minimally() {
        assert_eq!(
            canon(r#"{"b":1,"a":{"z":[1,{"y":2,"x":3}],"\ue000":0,"😀":1}}"#),
            "{\"a\":{\"z\":[1,{\"x\":3,\"y\":2}],\"\u{e000}\":0,\"😀\":1},\"b\":1}"
        );
        assert_eq!(
            canon(r#""q\" b\\ \b\f\n\r\t \u0001 \u001f \u007f é \u2028 /""#),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001 \\u001f \u{7f} é \u{2028} /\""
        );
    }

    #[test]
    fn the_signed_form_leaves_out_only_the_signature() {
        let v: Value = serde_json::from_str(r#"{"signature":"x","b":2,"a":1}"#).unwrap();
        assert_eq!(signed_form(&v).unwrap(), b"{\"a\":1,\"b\":2}");
        assert!(signed_form(&Value::Null).is_none());
    }
}
