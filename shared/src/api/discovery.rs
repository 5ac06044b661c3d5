//! `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`: all a verifier
//! outside the stack needs to check our tokens, from nothing but the issuer's URL (API Gateway's
//! JWT authorizer, PyJWT's `PyJWKClient`, Node `jose`'s `createRemoteJWKSet`).

use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use serde_json::{Value, json};

use crate::{
    error::{ApiError, respond},
    http,
    keys::{ALGORITHM, KEYS_MAX_AGE, PUBLISHED_MAX_AGE},
    tokens::{CLIENT_ID, TOKEN_TYPE, TokenService},
};

/// The path of the discovery document, under the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The path of the key set, under the issuer.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// What the `well-known` function serves: the issuer (`JWT_ISSUER`; deployed, the API's base
/// URL) and the public keys in force, reloaded as every verifier reloads them.
pub struct Discovery {
    pub tokens: TokenService,
}

/// Serves the discovery document or the key set; any other path is `404`.
pub async fn well_known(
    discovery: &Discovery,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(serve(discovery, &request).await)
}

#[tracing::instrument(name = "well-known", skip_all)]
async fn serve(discovery: &Discovery, request: &Request) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path();
    if path.ends_with(JWKS_PATH) {
        // A failed reload is logged and keeps the keys already loaded.
        let _ = discovery.tokens.reload_keys_if_older_than(KEYS_MAX_AGE).await;
        Ok(cacheable(&discovery.key_set()))
    } else if path.ends_with(DISCOVERY_PATH) {
        Ok(cacheable(&discovery.document()))
    } else {
        Err(ApiError::NotFound)
    }
}

impl Discovery {
    /// The key set: every key that may verify a valid token, the current one first, each with
    /// its `kid`, `alg` and `use`.
    pub fn key_set(&self) -> Value {
        let ring = self.tokens.keys().ring();
        json!({ "keys": ring.keys().map(|key| key.public().to_jwk()).collect::<Vec<_>>() })
    }

    /// The OpenID Provider Metadata fields a JWT verifier reads (`issuer`, `jwks_uri`, the
    /// signing algorithm), and nothing this service does not do: it has no OAuth authorization
    /// or RFC 6749 token endpoint, and issues no ID tokens.
    pub fn document(&self) -> Value {
        let issuer = &self.tokens.settings().issuer;
        let base = issuer.trim_end_matches('/');
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}{JWKS_PATH}"),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "access_token_signing_alg_values_supported": [ALGORITHM],
            "access_token_type": TOKEN_TYPE,
            "client_id": CLIENT_ID,
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope",
                "username", "sid", "ver"],
        })
    }
}

/// A JSON response any cache may keep for [`PUBLISHED_MAX_AGE`], which the time a new key is
/// published before it signs allows for ([`crate::keys::KeyTiming`]).
fn cacheable(value: &Value) -> Response<Body> {
    let mut response = http::json_response(StatusCode::OK, value);
    let max_age = PUBLISHED_MAX_AGE.as_secs();
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a valid header");
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        keys::{KeyMaterial, KeySet, test_keys},
        tokens::TokenSettings,
    };

    fn discovery() -> Discovery {
        let keys = KeySet {
            current: KeyMaterial::Public(test_keys::private(0).public().clone()),
            previous: Some(KeyMaterial::Public(test_keys::private(1).public().clone())),
            current_created: None,
        };
        let settings = TokenSettings {
            issuer: "https://abc123.execute-api.eu-west-1.amazonaws.com".into(),
            ..TokenSettings::default()
        };
        Discovery { tokens: TokenService::with_keys(&keys, settings, None) }
    }

    async fn get(path: &str) -> (u16, Option<String>, Value) {
        let request = lambda_http::http::Request::builder().uri(path).body(Body::Empty).unwrap();
        let response = well_known(&discovery(), request).await.unwrap();
        let cache = response.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), cache, serde_json::from_slice(response.body().as_ref()).unwrap())
    }

    #[tokio::test]
    async fn the_key_set_publishes_the_current_and_previous_public_keys_and_nothing_private() {
        let (status, cache, body) = get("/.well-known/jwks.json").await;
        assert_eq!((status, cache.as_deref()), (200, Some("public, max-age=300")));
        let kids: Vec<&str> =
            body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, [test_keys::private(0).public().kid(), test_keys::private(1).public().kid()]);
        for key in body["keys"].as_array().unwrap() {
            let mut fields: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
            fields.sort_unstable();
            assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"], "no private parameter (d, p, q…)");
            assert_eq!((key["alg"].as_str(), key["use"].as_str()), (Some("RS256"), Some("sig")));
        }
    }

    #[tokio::test]
    async fn discovery_names_the_issuer_and_where_its_keys_are() {
        let (status, cache, body) = get("/.well-known/openid-configuration").await;
        assert_eq!((status, cache.as_deref()), (200, Some("public, max-age=300")));
        assert_eq!(body["issuer"], "https://abc123.execute-api.eu-west-1.amazonaws.com");
        assert_eq!(
            body["jwks_uri"],
            "https://abc123.execute-api.eu-west-1.amazonaws.com/.well-known/jwks.json"
        );
        assert_eq!(body["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }

    #[tokio::test]
    async fn any_other_path_is_a_json_404() {
        let (status, _, body) = get("/.well-known/other").await;
        assert_eq!((status, body["Status"].as_str()), (404, Some("Error")));
    }
}
