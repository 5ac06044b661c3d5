//! A function of your own behind jwt-auth: `GET /reports` answers only callers whose token grants
//! the `reports:read` scope (a role an operator gives with `jwt-auth-admin roles USER
//! reports:read`). Copy this crate, change the handler, and add its route to the template as the
//! README's "Putting your own API behind it" shows.
//!
//! Deployed, the caller comes from the authorizer in front of the route (the Lambda authorizer,
//! or HTTP API's built-in JWT authorizer); under `make dev`, which runs no authorizer, the
//! function verifies the token itself, with the same checks.

use auth_core::{api::IdentifyCaller, clock::unix_now, error::ApiError, error::respond, http, wiring};
use lambda_http::{Body, Error, Request, Response, http::StatusCode, run, service_fn};
use serde_json::json;

/// The scope this route requires.
const SCOPE: &str = "reports:read";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let own = wiring::Protected::build(&wiring::start())?;
    run(service_fn(|request| reports(&own.callers, request))).await
}

/// `GET /reports`: `403` with `WWW-Authenticate: Bearer error="insufficient_scope"` without the
/// scope, `401` without a valid token, else the caller's report.
async fn reports(callers: &impl IdentifyCaller, request: Request) -> Result<Response<Body>, Error> {
    respond(report(callers, &request).await)
}

async fn report(callers: &impl IdentifyCaller, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = callers.caller_with_scope(request, SCOPE, unix_now()).await?;
    let body = json!({"Status": "Success", "result": {"for": caller.username, "scope": caller.scope}});
    Ok(http::json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use auth_core::identity::Identity;

    use super::*;

    /// A caller with the given scope, as an authorizer would pass it on.
    struct Caller(&'static str);

    impl IdentifyCaller for Caller {
        async fn caller(&self, _: &Request, _: u64) -> Result<Identity, ApiError> {
            Ok(Identity {
                user_id: "01J0USER".into(),
                username: "joe".into(),
                session_id: Some("01J0SESSION".into()),
                token_version: Some(0),
                expires_at: u64::MAX,
                scope: self.0.into(),
            })
        }
    }

    async fn status(scope: &'static str) -> (u16, Option<String>) {
        let response = reports(&Caller(scope), Request::default()).await.unwrap();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), challenge)
    }

    #[tokio::test]
    async fn deployed_it_reads_the_caller_from_the_built_in_jwt_authorizers_claims() {
        let event = include_str!("../../../events/reports.json");
        let request = lambda_http::request::from_str(event).unwrap();
        let callers: auth_core::wiring::Caller = auth_core::api::Callers::Authorizer;
        let response = reports(&callers, request).await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            (body["result"]["for"].as_str(), body["result"]["scope"].as_str()),
            (Some("joe"), Some("reports:read"))
        );
    }

    #[tokio::test]
    async fn only_a_caller_granted_the_scope_gets_the_report() {
        assert_eq!(status("admin reports:read").await, (200, None));
        let refused = Some(r#"Bearer error="insufficient_scope", scope="reports:read""#.to_owned());
        assert_eq!(status("").await, (403, refused.clone()));
        assert_eq!(status("reports").await, (403, refused.clone()), "a scope is matched whole");
        assert_eq!(status("reports:read:all").await, (403, refused));
    }
}
