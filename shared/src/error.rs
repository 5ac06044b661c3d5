//! The one place where failures become HTTP responses.

use lambda_http::{Body, Response, http::StatusCode};

use crate::{
    BoxError, error_chain,
    http::{self, BodyError},
    passwords::HashingError,
    store::StoreError,
    validation::Invalid,
};

/// Every way a request can fail, named for what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is well-formed JSON but breaks a rule (400).
    #[error("{0}")]
    Validation(String),
    /// The body is not valid JSON or has the wrong shape (400).
    #[error("{0}")]
    MalformedBody(String),
    /// The body is not declared as JSON (415).
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// The body is over [`http::MAX_BODY_BYTES`] (413).
    #[error("Request body is larger than {} bytes", http::MAX_BODY_BYTES)]
    PayloadTooLarge,
    /// Login failed; the same answer whether or not the user exists (401).
    #[error("Invalid username or password")]
    InvalidCredentials,
    /// The token is missing, malformed, forged or expired (401).
    #[error("Missing or invalid access token")]
    Unauthorized,
    /// Too many consecutive failed logins for this username; retry after the lock (429).
    #[error("Too many failed login attempts, retry later")]
    TooManyAttempts { retry_after: u64 },
    /// Too many requests to this route from the client's network this minute (429); the
    /// answer is the same whatever the body held, so it tells nothing of any account.
    #[error("Too many requests from your network, retry later")]
    SourceLimited { retry_after: u64 },
    /// The refresh token is unknown, expired, revoked or reused (401).
    #[error("Invalid or expired refresh token")]
    InvalidRefreshToken,
    /// A signed-in caller's password, asked again before a change or a deletion, is wrong (403):
    /// the token is fine, so this is no `401`.
    #[error("Password is incorrect")]
    WrongPassword,
    /// The token is valid but does not grant the scope the route requires (403, RFC 6750 §3.1).
    #[error("The access token does not grant the {0:?} scope")]
    InsufficientScope(&'static str),
    /// Sign-up for a name that is taken (409).
    #[error("User already exists")]
    UserExists,
    /// The account changed while the request ran (its password, or it was deleted) (409).
    #[error("The account changed during the request; sign in again and retry")]
    AccountChanged,
    /// The session named is not one of the caller's live sessions, whoever's it is (404).
    #[error("No such session")]
    NoSuchSession,
    /// No route answers this path (404).
    #[error("No such route")]
    NotFound,
    /// A dependency is down or throttling; worth retrying soon (503).
    #[error("Service temporarily unavailable, retry shortly")]
    Unavailable(#[source] BoxError),
    /// A bug or an unexpected dependency answer; details go to the log only (500).
    #[error("Internal server error")]
    Internal(#[source] BoxError),
}

/// Seconds a client should wait before retrying a `503`.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ApiError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidCredentials | Self::Unauthorized | Self::InvalidRefreshToken => {
                StatusCode::UNAUTHORIZED
            }
            Self::WrongPassword | Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::UserExists | Self::AccountChanged => StatusCode::CONFLICT,
            Self::NoSuchSession | Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooManyAttempts { .. } | Self::SourceLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON error response; the source chain of a 5xx is logged, never sent.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(&self), "request failed");
        } else {
            tracing::info!(status = status.as_u16(), reason = %self, "request rejected");
        }
        let mut response = http::envelope(status, "Error", self.to_string());
        let headers = response.headers_mut();
        match self {
            Self::Unavailable(_) => {
                headers.insert("retry-after", RETRY_AFTER_SECONDS.into());
            }
            Self::TooManyAttempts { retry_after } | Self::SourceLimited { retry_after } => {
                headers.insert("retry-after", retry_after.max(1).into());
            }
            Self::Unauthorized => {
                headers.insert("www-authenticate", "Bearer".parse().expect("static header"));
            }
            Self::InsufficientScope(scope) => {
                // A scope is a role name: lower-case letters, digits and `_-.:`, no quote.
                let challenge = format!(r#"Bearer error="insufficient_scope", scope="{scope}""#);
                if let Ok(value) = challenge.parse() {
                    headers.insert("www-authenticate", value);
                }
            }
            _ => {}
        }
        response
    }
}

/// Turns a handler result into the response Lambda returns.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Result<Response<Body>, lambda_http::Error> {
    Ok(result.unwrap_or_else(ApiError::into_response))
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::Validation(invalid.to_string())
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::NotJson => Self::UnsupportedMediaType,
            BodyError::Malformed(message) => Self::MalformedBody(message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::Unavailable(Box::new(error)),
            StoreError::Unexpected(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<HashingError> for ApiError {
    fn from(error: HashingError) -> Self {
        Self::Internal(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn server_errors_hide_their_cause_from_the_client() {
        let cause: BoxError = "connection refused to 10.0.0.1:8000 table users-secret".into();
        let response = ApiError::Internal(cause).into_response();
        assert_eq!(response.status(), 500);
        let body = body_json(&response);
        assert_eq!(body["Status"], "Error");
        assert_eq!(body["result"], "Internal server error");
        assert!(!String::from_utf8_lossy(response.body().as_ref()).contains("10.0.0.1"));
    }

    #[test]
    fn unavailable_tells_the_client_when_to_retry() {
        let response = ApiError::Unavailable("throttled".into()).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[test]
    fn unauthorized_carries_a_bearer_challenge() {
        let response = ApiError::InsufficientScope("reports:read").into_response();
        assert_eq!(response.status(), 403);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="insufficient_scope", scope="reports:read""#
        );
        let response = ApiError::Unauthorized.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }

    #[test]
    fn a_wrong_password_of_a_signed_in_caller_is_403_without_a_token_challenge() {
        let response = ApiError::WrongPassword.into_response();
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("www-authenticate").is_none());
    }

    #[test]
    fn every_client_error_uses_the_blog_envelope() {
        for error in [
            ApiError::Validation("bad".into()),
            ApiError::MalformedBody("bad".into()),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge,
            ApiError::InvalidCredentials,
            ApiError::UserExists,
            ApiError::WrongPassword,
            ApiError::AccountChanged,
            ApiError::TooManyAttempts { retry_after: 2 },
            ApiError::SourceLimited { retry_after: 2 },
        ] {
            let response = error.into_response();
            assert!(response.status().is_client_error());
            let body = body_json(&response);
            assert_eq!(body["Status"], "Error");
            assert!(body["result"].is_string());
        }
    }
}

#[cfg(test)]
mod lockout_tests {
    use super::*;

    #[test]
    fn a_lockout_is_429_with_the_seconds_left() {
        let response = ApiError::TooManyAttempts { retry_after: 8 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "8");
    }

    #[test]
    fn a_source_over_its_limit_is_429_with_the_seconds_to_the_next_window() {
        let response = ApiError::SourceLimited { retry_after: 41 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "41");
    }
}
