//! Reading requests: query parameters (unknown ones refused by name, durations like `30s`) and
//! JSON object bodies (an empty body is an empty object), each error naming the field. A field
//! given as `null` is refused like any other wrong type (leave it out for its default), as the
//! OpenAPI document says: no field is nullable unless it says so.

use super::error::ApiError;
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Duration;
use stem_protocol::duration::parse_duration;

/// The body, or the error for one that could not be read (over the cap, cut off).
pub fn body_of(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(state.max_body),
        _ => ApiError::bad_request("bad_body", format!("body: {}", e.body_text())),
    })
}

/// Refuses query parameters other than `known`, naming the first.
pub fn only(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{k}: unknown query parameter (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A duration query parameter.
pub fn duration_param(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<Duration>, ApiError> {
    params
        .get(name)
        .map(|v| parse_duration(v))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("{name}: {e}")))
}

/// A JSON object body with only `known` fields; an empty body is an empty object.
pub fn object_body(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    known: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let body = body_of(state, body)?;
    // JSON's own whitespace only: a form feed is not an empty body.
    if body
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("invalid_field", format!("body: malformed JSON: {e}"))
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "invalid_field",
            "body: expected a JSON object",
        ));
    };
    if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("{k}: unknown field (known: {})", known.join(", ")),
        ));
    }
    Ok(map)
}

fn wrong(name: &str, what: &str) -> ApiError {
    ApiError::bad_request("invalid_field", format!("{name}: expected {what}"))
}

pub fn field_bool(map: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong(name, "true or false")),
    }
}

pub fn field_str(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong(name, "a string")),
    }
}

pub fn field_usize(map: &Map<String, Value>, name: &str) -> Result<Option<usize>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => crate::ops::specs::whole(v)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| wrong(name, "a non-negative integer")),
    }
}

pub fn field_array(map: &Map<String, Value>, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(_) => Err(wrong(name, "a JSON array")),
    }
}

pub fn field_object(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(_) => Err(wrong(name, "a JSON object")),
    }
}

/// A whole-number query parameter between `min` and `max`.
pub fn int_param(
    params: &HashMap<String, String>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{name}: expected a whole number from {min} to {max}, got {text:?}"),
        )),
    }
}
