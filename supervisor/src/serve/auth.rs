//! Bearer-token auth. Tokens come from `STEM_API_TOKENS` or a tokens file, one entry each:
//! `TOKEN` or `TOKEN:admin` (every route) or `TOKEN:read` (only GET). With no token configured
//! every request is allowed, which is why the listener then refuses anything but loopback.
//! Health probes and the OpenAPI document need no token. The dashboard's pages also take the
//! token from the `stem_token` cookie its login form sets (GET only: its script sends actions
//! with the `Authorization` header), and answer a missing or bad token with that form. The
//! request's [`Scope`] goes into its extensions, so a page can offer admin actions to admins only.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::path::Path;

/// Paths open without a token.
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/v1/openapi.json"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// GET requests only.
    Read,
    /// Everything.
    Admin,
}

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("{source_name}: entry {entry:?}: unknown scope {scope:?} (use read or admin)")]
    Scope {
        source_name: String,
        entry: String,
        scope: String,
    },
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The configured tokens and their scopes.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<(String, Scope)>,
}

impl Tokens {
    /// Parses entries separated by commas, whitespace or newlines; `#` starts a comment line.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, TokensError> {
        let mut entries = Vec::new();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for entry in line.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
                let (token, scope) = match entry.rsplit_once(':') {
                    Some((t, "admin")) => (t, Scope::Admin),
                    Some((t, "read")) => (t, Scope::Read),
                    Some((_, other)) => {
                        return Err(TokensError::Scope {
                            source_name: source_name.into(),
                            entry: entry.into(),
                            scope: other.into(),
                        })
                    }
                    None => (entry, Scope::Admin),
                };
                entries.push((token.to_string(), scope));
            }
        }
        Ok(Tokens { entries })
    }

    /// The tokens of `STEM_API_TOKENS` (if set) and of `file` (if given), together.
    pub fn load(env: Option<&str>, file: Option<&Path>) -> Result<Self, TokensError> {
        let mut tokens = Tokens::parse(env.unwrap_or(""), "STEM_API_TOKENS")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let name = path.display().to_string();
            tokens.entries.extend(Tokens::parse(&text, &name)?.entries);
        }
        Ok(tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The scope of `token`, comparing against every entry in constant time per entry.
    pub fn scope(&self, token: &str) -> Option<Scope> {
        let mut found = None;
        for (t, scope) in &self.entries {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(*scope);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The dashboard's login form: the token goes to a cookie, then the page loads again.
const LOGIN: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · Stem</title>\
<link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.ico\">\
<link rel=\"stylesheet\" href=\"/ui/app.css\"></head><body><main><h1>Stem</h1><p>This server needs an API token.</p>\
<form id=\"login\"><label for=\"token\">API token</label> <input id=\"token\" type=\"password\" placeholder=\"token\" autofocus><button>Sign in</button></form>\
<script src=\"/ui/login.js\"></script></main></body></html>";

fn dashboard_page(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && (path == "/"
            || (path.starts_with("/ui/") && !path.ends_with(".js") && !path.ends_with(".css")))
}

/// The middleware: lets a request through when its token allows it.
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    if matches!(
        path,
        "/ui/app.js" | "/ui/app.css" | "/ui/login.js" | "/favicon.ico"
    ) {
        return next.run(request).await;
    }
    match allowed(&state.tokens, &request) {
        Ok(scope) => {
            let mut request = request;
            request.extensions_mut().insert(scope);
            next.run(request).await
        }
        Err(_) if dashboard_page(&request) => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            LOGIN,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The `stem_token` cookie of a GET or HEAD request.
fn cookie_token(request: &Request) -> Option<String> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return None;
    }
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("stem_token="))
        .map(percent_decode)
}

/// `%XX` escapes (as `encodeURIComponent` writes them) decoded; anything else kept.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok();
        match (bytes[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The scope the request is allowed with (every route without tokens, and the public paths;
/// handlers read it from the request's extensions, e.g. to show actions to admins only).
fn allowed(tokens: &Tokens, request: &Request) -> Result<Scope, ApiError> {
    if tokens.is_empty() {
        return Ok(Scope::Admin);
    }
    if PUBLIC.contains(&request.uri().path()) {
        return Ok(Scope::Read);
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return match cookie_token(request).and_then(|t| tokens.scope(&t)) {
            Some(scope) => Ok(scope),
            None => Err(unauthorized(
                "authorization: missing: send the header `Authorization: Bearer TOKEN`",
            )),
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("authorization: expected `Bearer TOKEN`"))?;
    match tokens.scope(token) {
        None => Err(unauthorized("authorization: the token is not valid")),
        Some(Scope::Admin) => Ok(Scope::Admin),
        Some(Scope::Read) if matches!(*request.method(), Method::GET | Method::HEAD) => {
            Ok(Scope::Read)
        }
        Some(Scope::Read) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "authorization: this token is read-only; {} {} needs an admin token",
                request.method(),
                request.uri().path()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_token_is_read_on_gets_only() {
        let req = |method: Method| {
            Request::builder()
                .method(method)
                .uri("/ui/tasks")
                .header(header::COOKIE, "a=b; stem_token=t%3Aread%20x")
                .body(axum::body::Body::empty())
                .expect("request")
        };
        assert_eq!(cookie_token(&req(Method::GET)).as_deref(), Some("t:read x"));
        assert_eq!(cookie_token(&req(Method::POST)), None);
        assert!(dashboard_page(&req(Method::GET)));
    }

    #[test]
    fn a_request_is_allowed_with_its_token_scope() {
        let req = |header: Option<(header::HeaderName, &str)>| {
            let mut b = Request::builder().uri("/ui/workflows/r");
            if let Some((name, value)) = header {
                b = b.header(name, value);
            }
            b.body(axum::body::Body::empty()).expect("request")
        };
        let none = Tokens::default();
        assert_eq!(allowed(&none, &req(None)), Ok(Scope::Admin), "no tokens");
        let tokens = Tokens::parse("a, b:read", "test").expect("valid");
        let bearer = |t: &str| Some((header::AUTHORIZATION, format!("Bearer {t}")));
        for (token, scope) in [("a", Scope::Admin), ("b", Scope::Read)] {
            let header = bearer(token);
            let header = header.as_ref().map(|(n, v)| (n.clone(), v.as_str()));
            assert_eq!(allowed(&tokens, &req(header)), Ok(scope));
            let cookie = format!("stem_token={token}");
            let cookie = Some((header::COOKIE, cookie.as_str()));
            assert_eq!(allowed(&tokens, &req(cookie)), Ok(scope));
        }
        assert!(allowed(&tokens, &req(None)).is_err());
    }

    #[test]
    fn entries_scopes_and_comments() {
        let t = Tokens::parse("a, b:read\n# c\nd:admin", "test").expect("valid");
        assert_eq!(t.scope("a"), Some(Scope::Admin));
        assert_eq!(t.scope("b"), Some(Scope::Read));
        assert_eq!(t.scope("c"), None);
        assert_eq!(t.scope("d"), Some(Scope::Admin));
        let err = Tokens::parse("x:root", "STEM_API_TOKENS").expect_err("bad scope");
        assert!(err.to_string().contains("unknown scope \"root\""), "{err}");
    }
}
