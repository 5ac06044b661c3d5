//! Who is calling a protected route: decided once at start-up for the whole function, asked by
//! each handler.

use std::future::Future;

use lambda_http::{Request, RequestExt, http::header::AUTHORIZATION, request::RequestContext};
use serde_json::{Map, Value};

use crate::{
    error::ApiError,
    identity::{Authenticator, Identity, Rejection, token_from_authorization},
    refresh::FindSession,
    tokens::LEEWAY_SECONDS,
    users::FindAccount,
};

/// Answers "who is calling" for a request to a protected route, or refuses it with `401`.
pub trait IdentifyCaller: Sync {
    fn caller(&self, request: &Request, now: u64) -> impl Future<Output = Result<Identity, ApiError>> + Send;

    /// The caller, if their token grants `scope`: else `403` with RFC 6750's
    /// `insufficient_scope`. Checked here, in the function, not in the authorizer: API Gateway
    /// caches the authorizer's decision per token across routes.
    fn caller_with_scope(
        &self,
        request: &Request,
        scope: &'static str,
        now: u64,
    ) -> impl Future<Output = Result<Identity, ApiError>> + Send {
        async move {
            let identity = self.caller(request, now).await?;
            if identity.has_scope(scope) { Ok(identity) } else { Err(ApiError::InsufficientScope(scope)) }
        }
    }
}

/// The two ways a function knows its caller, chosen by its configuration (see
/// [`crate::wiring`]).
pub enum Callers<U, S> {
    /// Deployed, behind the authorizer: the identity in its context, whose `exp` is checked again
    /// here since API Gateway may serve a cached decision. A request without one is refused.
    Authorizer,
    /// Where no authorizer runs (`cargo lambda watch`): that context if present, else the
    /// `Authorization` header verified in full, as the authorizer would.
    Verify(Box<Authenticator<U, S>>),
}

impl<U: FindAccount + Sync, S: FindSession + Sync> IdentifyCaller for Callers<U, S> {
    async fn caller(&self, request: &Request, now: u64) -> Result<Identity, ApiError> {
        if let Some(identity) = authorizer_identity(request) {
            return if now <= identity.expires_at + LEEWAY_SECONDS {
                Ok(identity)
            } else {
                Err(ApiError::Unauthorized)
            };
        }
        let Self::Verify(authenticator) = self else { return Err(ApiError::Unauthorized) };
        let mut values = request.headers().get_all(AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(ApiError::Unauthorized);
        };
        let token = value.to_str().ok().and_then(token_from_authorization).ok_or(ApiError::Unauthorized)?;
        match authenticator.verify(token, now).await {
            Ok(identity) => Ok(identity),
            Err(Rejection::Store(error)) => Err(error.into()),
            Err(error) if error.is_undecided() => Err(ApiError::Unavailable(Box::new(error))),
            Err(error) => {
                tracing::info!(%error, "access token refused");
                Err(ApiError::Unauthorized)
            }
        }
    }
}

/// The identity an authorizer attached to the request, if any: our Lambda authorizer's context,
/// or the claims of a token HTTP API's built-in JWT authorizer verified.
fn authorizer_identity(request: &Request) -> Option<Identity> {
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else {
        return None;
    };
    let authorizer = context.authorizer.as_ref()?;
    if let Some(jwt) = &authorizer.jwt {
        let claims = jwt.claims.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        return Identity::from_authorizer_context(&claims);
    }
    let fields = &authorizer.fields;
    let map: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    Identity::from_authorizer_context(&map)
}
