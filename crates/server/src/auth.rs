//! Who is calling: a browser session (cookie) or a script's API token
//! (`Authorization: Bearer sy_…`). State-changing requests made with a
//! session cookie must carry the session's anti-forgery token, in the
//! `X-CSRF-Token` header or a `csrf` query parameter (for plain HTML
//! forms); requests with an API token need none, since a browser never adds
//! that header by itself.

use std::sync::Arc;

use accounts::Actor;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};

use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "soyaku_session";

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it is.
    pub actor: Actor,
    /// The session's anti-forgery token; `None` for API tokens.
    pub csrf: Option<String>,
}

/// A caller who may or may not be signed in (pages that show a sign-in
/// link instead of refusing).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        if let Some(token) = bearer(&parts.headers) {
            let actor = state.accounts.token(token).await?;
            identified(parts, &actor);
            return Ok(Caller { actor, csrf: None });
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
        let (actor, csrf) = state.accounts.session(&token).await?;
        identified(parts, &actor);
        if !is_safe(&parts.method) && !csrf_matches(parts, &csrf) {
            return Err(ApiError::csrf());
        }
        Ok(Caller { actor, csrf: Some(csrf) })
    }
}

impl FromRequestParts<Arc<AppState>> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<MaybeCaller, ApiError> {
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(MaybeCaller(Some(caller))),
            Err(e) if e.code == "unauthenticated" => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

/// Who a request turned out to be from, for the audit of refusals: the
/// audit layer puts an empty slot in the request, and identifying the
/// caller fills it.
#[derive(Clone, Default)]
pub(crate) struct ActorSlot(pub std::sync::Arc<std::sync::Mutex<Option<Actor>>>);

fn identified(parts: &Parts, actor: &Actor) {
    if let Some(slot) = parts.extensions.get::<ActorSlot>() {
        *slot.0.lock().expect("actor slot") = Some(actor.clone());
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_matches(parts: &Parts, expected: &str) -> bool {
    let header = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let query = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("csrf=")).map(str::to_owned));
    let given = header.map(str::to_owned).or(query);
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes()))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        accounts::SESSION_SECONDS,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends it.
pub fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The address a request came from, when the server knows it.
pub struct ClientAddr(pub(crate) Option<std::net::IpAddr>);

impl ClientAddr {
    /// For signed-in callers, whose account names them.
    pub fn unknown() -> ClientAddr {
        ClientAddr(None)
    }

    /// The address, when known. Behind a reverse proxy this is the
    /// proxy's.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.0
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<ClientAddr, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|i| i.0.ip())))
    }
}
