//! The HTTP API (payload 2.0) Lambda authorizer with simple responses.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_runtime::LambdaEvent;

use crate::{
    identity::Authenticator,
    tokens::{self, unix_now},
    users::FindUser,
};

/// The authorizer's Lambda handler. It never fails: any problem is a denial.
pub async fn authorizer<U: FindUser>(
    authenticator: &Authenticator<U>,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, lambda_runtime::Error> {
    Ok(authorize(authenticator, &event.payload, unix_now()).await)
}

/// Allows the request if it carries exactly one valid `Bearer` or `JWT` token of a live,
/// unrevoked account, passing `sub`, `username` and `exp` on in the context; denies everything
/// else, including when the account cannot be checked.
///
/// Denials are logged at INFO with their reason; allows only at DEBUG, since a line per allowed
/// request would dominate the log bill and a warm invocation's CPU (BENCHMARKS.md, measure 3).
#[tracing::instrument(name = "authorize", skip_all)]
pub async fn authorize<U: FindUser>(
    authenticator: &Authenticator<U>,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
    now: u64,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.context = serde_json::json!({});
    let Some(value) = authorization_value(request) else {
        tracing::info!("denied: no single Authorization header");
        return response;
    };
    let Some(token) = tokens::token_from_authorization(value) else {
        tracing::info!("denied: unsupported Authorization scheme or shape");
        return response;
    };
    match authenticator.verify(token, now).await {
        Ok(identity) => {
            tracing::debug!(user_id = %identity.user_id, "allowed");
            response.is_authorized = true;
            response.context = identity.to_authorizer_context();
        }
        Err(error) => tracing::info!(%error, "denied"),
    }
    response
}

/// The one `Authorization` value: from the identity source API Gateway resolved, else the
/// headers. Several values (API Gateway joins repeats with ", ") fail later as a bad shape.
fn authorization_value(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    match request.identity_source.as_deref() {
        Some([single]) => Some(single.as_str()),
        Some(_) => None,
        None => {
            let mut values = request.headers.get_all("authorization").iter();
            match (values.next(), values.next()) {
                (Some(value), None) => value.to_str().ok(),
                _ => None,
            }
        }
    }
}
