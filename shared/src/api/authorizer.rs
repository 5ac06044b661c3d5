//! The HTTP API (payload 2.0) Lambda authorizer with simple responses.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerSimpleResponse;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;

use crate::{
    clock::unix_now,
    identity::{Authenticator, Rejection, token_from_authorization},
    refresh::FindSession,
    store::StoreError,
    users::FindAccount,
};

/// The authorizer's Lambda handler. It fails only when the account or the keys cannot be read:
/// API Gateway then answers `500` and, unlike a denial, does not cache the answer.
pub async fn authorizer<U: FindAccount, S: FindSession>(
    authenticator: &Authenticator<U, S>,
    event: LambdaEvent<AuthorizerRequest>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Diagnostic> {
    authorize(authenticator, &event.payload, unix_now()).await.map_err(|error| {
        let error_type = match error {
            Rejection::Store(StoreError::Unavailable(_)) => "StoreUnavailable",
            Rejection::Token(_) => "KeysUnavailable",
            _ => "StoreError",
        };
        Diagnostic { error_type: error_type.into(), error_message: error.to_string() }
    })
}

/// Allows the request if it carries exactly one valid `Bearer` or `JWT` token of a live,
/// unrevoked account and session, passing `sub`, `username`, `sid`, `ver` and `exp` on in the
/// context; denies everything else. When the account cannot be checked (DynamoDB unavailable), or the token names a key
/// this instance could not reload, there is no decision but an error
/// ([`Rejection::is_undecided`]): API Gateway caches denials per token for
/// `AuthorizerCacheTtlSeconds`, and a moment's outage must not lock a valid token out for that
/// long.
///
/// Denials are logged at INFO with their reason; allows only at DEBUG, since a line per allowed
/// request would dominate the log bill and a warm invocation's CPU (BENCHMARKS.md, measure 3).
#[tracing::instrument(name = "authorize", skip_all)]
pub async fn authorize<U: FindAccount, S: FindSession>(
    authenticator: &Authenticator<U, S>,
    request: &AuthorizerRequest,
    now: u64,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Rejection> {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.context = serde_json::json!({});
    let Some(value) = authorization_value(request) else {
        tracing::info!("denied: no single Authorization header");
        return Ok(response);
    };
    let Some(token) = token_from_authorization(value) else {
        tracing::info!("denied: unsupported Authorization scheme or shape");
        return Ok(response);
    };
    match authenticator.verify(token, now).await {
        Ok(identity) => {
            tracing::debug!(user_id = %identity.user_id, "allowed");
            response.is_authorized = true;
            response.context = identity.to_authorizer_context();
        }
        Err(error) if error.is_undecided() => {
            tracing::error!(%error, "no decision");
            return Err(error);
        }
        Err(error) => tracing::info!(%error, "denied"),
    }
    Ok(response)
}

/// The parts of an HTTP API (payload 2.0) authorizer request the decision reads; the rest of the
/// event is skipped without being stored. Deserialising the whole `aws_lambda_events` request,
/// every header into a `HeaderMap` and the full request context, was most of an invocation's
/// own CPU (BENCHMARKS.md, measure 2).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    /// What API Gateway resolved for the identity source, `$request.header.Authorization`.
    pub identity_source: Option<Vec<String>>,
    pub headers: Option<AuthorizerHeaders>,
}

/// The request headers the authorizer reads. API Gateway lower-cases their names and joins a
/// repeated header's values with ", ".
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizerHeaders {
    pub authorization: Option<String>,
}

/// The one `Authorization` value: from the identity source API Gateway resolved, else the
/// header. Several values (API Gateway joins repeats with ", ") fail later as a bad shape.
fn authorization_value(request: &AuthorizerRequest) -> Option<&str> {
    match request.identity_source.as_deref() {
        Some([single]) => Some(single.as_str()),
        Some(_) => None,
        None => request.headers.as_ref()?.authorization.as_deref(),
    }
}
