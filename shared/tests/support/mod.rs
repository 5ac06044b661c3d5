//! What every suite that drives the local stack shares: finding what `make test` started, a
//! client for the running API, unique names, and tokens signed with the server's own key.
//!
//! Without the stack, a plain `cargo test` skips these suites with a one-line reason; under
//! `make test` (`REQUIRE_LOCAL_STACK=1`) a suite that cannot run fails instead.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::{io::Write, sync::Once};

use auth_core::{config::Config, keys::PrivateKey, tokens::TokenService, wiring};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The value of `variable`, which `make test` sets once it has started what `suite` needs.
/// Unset, the suite is skipped with one line on the terminal, or fails under `make test`.
pub fn local(variable: &str, suite: &str) -> Option<String> {
    if let Some(value) = std::env::var(variable).ok().filter(|v| !v.is_empty()) {
        return Some(value);
    }
    assert!(
        std::env::var_os("REQUIRE_LOCAL_STACK").is_none(),
        "{variable} is unset, but REQUIRE_LOCAL_STACK says {suite} must run: `make test` sets it"
    );
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Straight to the terminal: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "skipped: {suite} needs {variable}, which `make test` sets");
    });
    None
}

/// The AWS configuration the functions build, from this process's environment (DynamoDB Local
/// and the Secrets Manager emulator's endpoints, throwaway credentials).
pub fn sdk_config() -> aws_types::SdkConfig {
    wiring::aws(&Config::from_process()).config().clone()
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The running server's private key (`JWT_PRIVATE_KEY`, set by `make test`).
pub fn server_key() -> PrivateKey {
    let pem = std::env::var("JWT_PRIVATE_KEY").expect("JWT_PRIVATE_KEY is unset: run `make test`");
    PrivateKey::from_pem(&pem).unwrap()
}

/// A token service with the server's own key and settings, to mint tokens that are genuine but
/// expired, say.
pub fn server_tokens() -> TokenService {
    let settings = Config::from_process().tokens().unwrap();
    TokenService::new(&server_key(), settings)
}

/// Part `part` of a JWT (0 the header, 1 the claims), decoded, unverified.
pub fn token_part(token: &str, part: usize) -> Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(part).unwrap()).unwrap()).unwrap()
}

/// A sample event from `events/`.
pub fn sample_event(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A client of the API under `cargo lambda watch`.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    /// The API `make test` started (`E2E_BASE_URL`), or `None` when no stack runs.
    pub fn local(suite: &str) -> Option<Self> {
        local("E2E_BASE_URL", suite).map(Self::at)
    }

    /// The API at `base`.
    pub fn at(base: String) -> Self {
        Self { base, http: reqwest::Client::new() }
    }

    /// Any request: the status, `Retry-After` if present, and the JSON body (`null` if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        (status, retry_after, body)
    }

    /// A request with raw headers and body, for shapes `call` cannot make; only the status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> StatusCode {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request.send().await.unwrap().status()
    }

    /// `POST` JSON; the status and the JSON body (a body that is not JSON fails the test).
    pub async fn post(&self, path: &str, body: Value, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        read(request.send().await.unwrap()).await
    }

    /// `GET`; the status and the JSON body (a body that is not JSON fails the test).
    pub async fn get(&self, path: &str, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn signup(&self, username: &str, password: &str) -> StatusCode {
        self.post("/signup", json!({"username": username, "password": password}), None).await.0
    }

    /// A login's whole session body: access and refresh token.
    pub async fn session(&self, username: &str, password: &str) -> Value {
        let (status, body) =
            self.post("/auth", json!({"username": username, "password": password}), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A login's access token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        self.session(username, password).await["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn refresh(&self, token: &Value) -> (StatusCode, Value) {
        self.post("/refresh", json!({ "refresh_token": token }), None).await
    }

    /// `POST /logout` with `body`, as the holder of `access_token`; only the status.
    pub async fn logout(&self, access_token: &Value, body: Value) -> StatusCode {
        let header = format!("Bearer {}", access_token.as_str().unwrap());
        self.call(Method::POST, "/logout", Some(&header), Some(body)).await.0
    }

    /// Sends `event` to one function through the emulator's Lambda Invoke endpoint, as API
    /// Gateway would: the status of the invocation and the function's JSON result.
    pub async fn invoke(&self, function: &str, event: &Value) -> (StatusCode, Value) {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let response = self.http.post(url).json(event).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// Invokes the authorizer with `token` as the identity source, as API Gateway does.
    pub async fn authorize(&self, token: &str) -> (StatusCode, Value) {
        let mut event = sample_event("authorizer");
        event["identitySource"] = json!([format!("JWT {token}")]);
        event["headers"]["authorization"] = json!(format!("JWT {token}"));
        self.invoke("authorizer", &event).await
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: non-JSON body {text:?}"));
    (status, body)
}
