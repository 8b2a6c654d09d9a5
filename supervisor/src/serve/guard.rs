//! The cross-origin guard, in front of auth: a tokenless server answers only to loopback `Host`
//! names (and `--allow-host`), so a DNS-rebound page cannot read or write it; a tokenless
//! server refuses a state-changing request from another origin (an `Origin` that is neither its
//! own nor on `--allow-origin`, or `Sec-Fetch-Site: cross-site|same-site` without an allowed
//! origin); every server refuses a body that is not JSON (415), so a form or `text/plain` post
//! never acts. CORS is answered only for allowed origins: their preflights get the methods and
//! headers, their requests `Access-Control-Allow-Origin`; any other preflight is refused.

use super::error::ApiError;
use super::origin::Origin;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Media types a request body may have (JSON, or JSON lines for `POST /v1/tasks`).
const JSON_TYPES: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
];

/// How long a browser may cache an allowed preflight, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

fn forbidden(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

fn text<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// The authority the request reached the server as: HTTP/2's `:authority`, else `Host`.
fn authority(request: &Request) -> Option<String> {
    request
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| text(request.headers(), &header::HOST).map(str::to_string))
}

fn changes_state(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Whether the request carries a body (a non-zero length, or a chunked one).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || text(headers, &header::CONTENT_LENGTH).is_some_and(|l| l.trim() != "0")
}

/// 415 unless a body (or a declared type) is JSON.
fn content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = text(headers, &header::CONTENT_TYPE);
    let media = declared.map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media {
        None if !has_body(headers) => Ok(()),
        Some(m) if JSON_TYPES.contains(&m.as_str()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content-type: {}: send the body as `Content-Type: application/json`",
                declared.map_or("missing".to_string(), |t| format!("{t:?} is not JSON"))
            ),
        )),
    }
}

/// A tokenless server's refusal of a request from another origin, if it is one.
fn cross_origin(state: &AppState, request: &Request, host: &str) -> Result<(), ApiError> {
    let policy = &state.origins;
    let headers = request.headers();
    let origin = text(headers, &header::ORIGIN);
    let parsed = origin.and_then(Origin::parse);
    let allowed = parsed.as_ref().is_some_and(|o| policy.origin_allowed(o));
    let own = parsed.is_some() && parsed == policy.own_origin(host);
    let site = text(headers, &"sec-fetch-site".parse().expect("header name"));
    let what = format!("{} {}", request.method(), request.uri().path());
    if let Some(o) = origin {
        if !(own || allowed) {
            return Err(forbidden(
                "cross_origin",
                format!(
                    "origin: {o:?} may not call {what} on this tokenless server \
                     (only its own origin, or one given with --allow-origin)"
                ),
            ));
        }
    }
    if matches!(site, Some("cross-site" | "same-site")) && !allowed {
        return Err(forbidden(
            "cross_origin",
            format!(
                "sec-fetch-site: {}: a request from another site may not call {what} on this \
                 tokenless server (allow its origin with --allow-origin)",
                site.unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// The answer to a CORS preflight from `origin`.
fn preflight(state: &AppState, origin: &str) -> Response {
    match Origin::parse(origin).filter(|o| state.origins.origin_allowed(o)) {
        Some(o) => (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, o.header()),
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST".into()),
                (
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "Authorization, Content-Type".into(),
                ),
                (header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE.into()),
                (header::VARY, "Origin".into()),
            ],
        )
            .into_response(),
        None => forbidden(
            "cross_origin",
            format!("origin: {origin:?} is not allowed to call this API (see --allow-origin)"),
        )
        .into_response(),
    }
}

/// The middleware.
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tokenless = state.tokens.is_empty();
    let host = authority(&request);
    let host_header = text(request.headers(), &header::HOST);
    if tokenless {
        // An absolute request URI names one authority and `Host` may name another: both count.
        let named = host_header
            .filter(|h| !state.origins.host_allowed(h))
            .map(str::to_string)
            .or_else(|| host.clone());
        match &named {
            Some(h) if state.origins.host_allowed(h) => {}
            Some(h) => {
                return forbidden(
                    "host_not_allowed",
                    format!(
                        "host: {h:?} is not a loopback name of this tokenless server \
                         (localhost, 127.0.0.0/8, [::1]; add others with --allow-host)"
                    ),
                )
                .into_response()
            }
            None => {
                return forbidden(
                    "host_not_allowed",
                    "host: missing: send the Host header".into(),
                )
                .into_response()
            }
        }
    }
    let origin = text(request.headers(), &header::ORIGIN).map(str::to_string);
    if request.method() == Method::OPTIONS {
        if let Some(o) = &origin {
            return preflight(&state, o);
        }
    }
    if changes_state(request.method()) {
        if tokenless {
            if let Err(refused) = cross_origin(&state, &request, host.as_deref().unwrap_or("")) {
                return refused.into_response();
            }
        }
        if let Err(refused) = content_type(request.headers()) {
            return refused.into_response();
        }
    }
    let allowed = origin
        .as_deref()
        .and_then(Origin::parse)
        .filter(|o| state.origins.origin_allowed(o));
    let mut response = next.run(request).await;
    if let Some(o) = allowed {
        if let Ok(v) = HeaderValue::from_str(&o.header()) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn bodies_must_be_json() {
        assert!(content_type(&headers(&[])).is_ok());
        assert!(content_type(&headers(&[("content-length", "0")])).is_ok());
        assert!(content_type(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )]))
        .is_ok());
        assert!(content_type(&headers(&[("content-type", "application/x-ndjson")])).is_ok());
        for bad in [
            headers(&[("content-type", "text/plain")]),
            headers(&[("content-type", "application/x-www-form-urlencoded")]),
            headers(&[("content-length", "12")]),
            headers(&[("transfer-encoding", "chunked")]),
        ] {
            let refused = content_type(&bad).expect_err("refused");
            assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
    }
}
