//! API errors: one stable JSON shape for every failure,
//! `{"error": {"code": "…", "message": "…"}}`, with the HTTP status that
//! fits. Messages say what was wrong and what to do; internal faults are
//! logged in full and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed API call.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Seconds after which trying again may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::from(accounts::AccountError::Unauthenticated)
    }

    pub fn csrf() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong anti-forgery token: send the X-CSRF-Token header your session \
             was given (GET /api/v1/me shows it), or use an API token",
        )
    }

    /// What an answer refusing the caller carries for the audit layer
    /// (`crate::audit_refusals`): its code and message.
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        matches!(self.code, "forbidden" | "csrf")
            .then(|| Refusal { code: self.code, message: self.message.clone() })
    }

    fn internal(what: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the fault is logged, please try again or report it",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let refusal = self.refusal();
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(refusal) = refusal {
            response.extensions_mut().insert(refusal);
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// A refusal, attached to the answer that carries it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl From<accounts::AccountError> for ApiError {
    fn from(e: accounts::AccountError) -> ApiError {
        use accounts::AccountError as E;
        match e {
            E::BadCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", e.to_string())
            }
            E::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            E::Throttled { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string())
            },
            E::Forbidden { .. } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            E::Invalid(_) => ApiError::bad_request(e.to_string()),
            E::Taken(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Database(_) | E::Migrate(_) | E::Hash(_) => ApiError::internal(&e),
        }
    }
}

impl From<library::LibraryError> for ApiError {
    fn from(e: library::LibraryError) -> ApiError {
        use library::LibraryError as E;
        match e {
            E::BadQuery(_) | E::BadId(_) | E::BadInput { .. } => {
                ApiError::bad_request(e.to_string())
            }
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Pool(p) => p.into(),
            E::Read { .. }
            | E::Write { .. }
            | E::Io(_)
            | E::Database(_)
            | E::Migrate(_)
            | E::Index(_)
            | E::Corrupt(_) => ApiError::internal(&e),
        }
    }
}

impl From<parallel::PoolError> for ApiError {
    fn from(e: parallel::PoolError) -> ApiError {
        use parallel::PoolError as E;
        match e {
            E::Busy => ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            },
            E::Deadline(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_slow",
                format!("{e}; try a smaller structure or a narrower search"),
            ),
            E::Panicked(_) => ApiError::internal(&e),
        }
    }
}

impl From<requests::RequestError> for ApiError {
    fn from(e: requests::RequestError) -> ApiError {
        use requests::RequestError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::WrongState { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Invalid(_) => ApiError::bad_request(e.to_string()),
            E::Account(a) => a.into(),
            E::Library(l) => l.into(),
            E::Database(_) | E::Migrate(_) => ApiError::internal(&e),
        }
    }
}

impl From<campaigns::CampaignError> for ApiError {
    fn from(e: campaigns::CampaignError) -> ApiError {
        use campaigns::CampaignError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Run(_) | E::Invalid(_) => ApiError::bad_request(e.to_string()),
            E::Account(a) => a.into(),
            E::Library(l) => l.into(),
            E::Database(_) | E::Migrate(_) | E::Damaged(_) => ApiError::internal(&e),
        }
    }
}

impl From<negotiator::NegotiatorError> for ApiError {
    fn from(e: negotiator::NegotiatorError) -> ApiError {
        use negotiator::NegotiatorError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Invalid(_) => ApiError::bad_request(e.to_string()),
            E::Account(a) => a.into(),
            E::Database(_) | E::Migrate(_) => ApiError::internal(&e),
        }
    }
}

impl From<jobs::JobError> for ApiError {
    fn from(e: jobs::JobError) -> ApiError {
        use jobs::JobError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::WrongState { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Account(a) => a.into(),
            E::Database(_) | E::Migrate(_) | E::Corrupt(_) => ApiError::internal(&e),
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(e: axum::extract::multipart::MultipartRejection) -> ApiError {
        ApiError::bad_request(format!("send the file as multipart/form-data: {}", e.body_text()))
    }
}

impl From<models::ModelError> for ApiError {
    fn from(e: models::ModelError) -> ApiError {
        match e {
            models::ModelError::Unknown(_) => ApiError::not_found(e.to_string()),
            _ => ApiError::internal(&e),
        }
    }
}

impl From<chem::ChemError> for ApiError {
    fn from(e: chem::ChemError) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::bad_request(format!("bad query parameters: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> ApiError {
        ApiError::new(e.status(), "bad_request", format!("bad JSON body: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> ApiError {
        ApiError::bad_request(format!("bad path: {}", e.body_text()))
    }
}

/// `Query` whose failures answer in the API's error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `Json` (a request body) whose failures answer in the API's error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// `Multipart` whose failures answer in the API's error shape.
pub struct Upload(pub axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Upload, ApiError> {
        Ok(Upload(axum::extract::Multipart::from_request(req, state).await?))
    }
}

/// `Path` whose failures answer in the API's error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
