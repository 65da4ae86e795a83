//! How long a request may take: [`REQUEST_TIMEOUT`] unless its route is an
//! upload ([`long_upload`]), which may take [`UPLOAD_TIMEOUT`] so that the
//! documented upload size, not the time limit, bounds what can be sent.
//!
//! Why not a timeout layer per route: the limit must cover the whole
//! request, body included, and be set before routing; so the outer layer
//! keeps the deadline in the request's extensions, and an upload route's
//! layer moves it later.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// Longest time any request may take before it is answered 408.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest time an upload may take.
pub(crate) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

#[derive(Clone)]
struct Deadline(Arc<Mutex<Instant>>);

impl Deadline {
    fn at(&self) -> Instant {
        *self.0.lock().expect("deadline lock")
    }
}

/// The outer layer: answers 408 once the request's deadline has passed.
pub(crate) async fn limit(mut request: Request, next: Next) -> Response {
    let deadline = Deadline(Arc::new(Mutex::new(Instant::now() + REQUEST_TIMEOUT)));
    request.extensions_mut().insert(deadline.clone());
    let answer = next.run(request);
    tokio::pin!(answer);
    loop {
        let until = deadline.at();
        tokio::select! {
            response = &mut answer => return response,
            _ = tokio::time::sleep_until(until.into()) => {
                if deadline.at() <= Instant::now() {
                    return ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "timeout",
                        "the request took longer than the server allows",
                    )
                    .into_response();
                }
            }
        }
    }
}

/// The layer of an upload route: its deadline becomes [`UPLOAD_TIMEOUT`].
pub(crate) async fn long_upload(request: Request, next: Next) -> Response {
    if let Some(deadline) = request.extensions().get::<Deadline>() {
        *deadline.0.lock().expect("deadline lock") = Instant::now() + UPLOAD_TIMEOUT;
    }
    next.run(request).await
}
