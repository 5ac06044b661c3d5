//! DynamoDB failing under the running API: a TCP proxy between a second `cargo lambda watch`
//! and DynamoDB Local refuses or stalls connections (both started by `make test`).
//!
//! While it fails, every route answers `503` with `Retry-After` within the SDK timeout (never
//! `200`, never `401`) and writes nothing, and the authorizer fails rather than deny; once it is
//! back, everything works.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Forward,
    Refuse,
    Stall,
}

/// A proxy to DynamoDB Local whose behaviour the test switches.
struct Proxy {
    mode: Arc<Mutex<Mode>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(port: u16, upstream: String) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the fault proxy port is free");
        let proxy = Self { mode: Arc::new(Mutex::new(Mode::Forward)), connections: Arc::default() };
        let (mode, connections) = (proxy.mode.clone(), proxy.connections.clone());
        tokio::spawn(async move {
            let mut stalled = Vec::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let current = *mode.lock().unwrap();
                match current {
                    Mode::Refuse => drop(client),
                    Mode::Stall => stalled.push(client),
                    Mode::Forward => {
                        let upstream = upstream.clone();
                        connections.lock().unwrap().push(tokio::spawn(async move {
                            if let Ok(mut server) = TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }));
                    }
                }
            }
        });
        proxy
    }

    /// Switches behaviour and cuts every connection already open, as a crash would.
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
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

    /// Invokes the authorizer as API Gateway does, with `token` as the identity source.
    async fn authorize(&self, token: &str) -> (StatusCode, Value) {
        let mut event: Value = serde_json::from_str(include_str!("../../events/authorizer.json")).unwrap();
        event["identitySource"] = json!([format!("JWT {token}")]);
        event["headers"]["authorization"] = json!(format!("JWT {token}"));
        let url = format!("{}/2015-03-31/functions/authorizer/invocations", self.base);
        let response = self.http.post(url).json(&event).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

fn credentials(name: &str) -> Value {
    json!({"username": name, "password": "outage tested password"})
}

#[tokio::test]
async fn a_failing_database_gives_prompt_503s_and_no_half_written_state() {
    let base = std::env::var("FAULT_BASE_URL").expect("FAULT_BASE_URL is unset: run `make test`");
    let port: u16 = std::env::var("FAULT_PROXY_PORT").expect("FAULT_PROXY_PORT is unset").parse().unwrap();
    let upstream =
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap().trim_start_matches("http://").to_owned();
    let proxy = Proxy::start(port, upstream).await;
    let api = Api { base, http: reqwest::Client::new() };
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let (alice, bob) = (format!("fault-a-{suffix}"), format!("fault-b-{suffix}"));

    assert_eq!(api.call("POST", "/signup", None, Some(credentials(&alice))).await.0, StatusCode::CREATED);
    let (status, _, session) = api.call("POST", "/auth", None, Some(credentials(&alice))).await;
    assert_eq!(status, StatusCode::OK);
    let token = session["access_token"].as_str().unwrap().to_owned();

    for mode in [Mode::Refuse, Mode::Stall] {
        proxy.set(mode);
        for (method, path, auth, body) in [
            ("POST", "/signup", None, Some(credentials(&bob))),
            ("POST", "/auth", None, Some(credentials(&alice))),
            ("POST", "/refresh", None, Some(json!({"refresh_token": session["refresh_token"]}))),
            ("GET", "/work", Some(token.as_str()), None),
            ("POST", "/work", Some(token.as_str()), Some(json!({"title": "during the outage"}))),
        ] {
            let started = Instant::now();
            let (status, retry_after, body) = api.call(method, path, auth, body).await;
            let took = started.elapsed();
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{mode:?} {method} {path}: {body}");
            assert_eq!(retry_after.as_deref(), Some("1"), "{mode:?} {method} {path}");
            assert_eq!(body["Status"], "Error");
            assert!(
                took < Duration::from_secs(15),
                "{mode:?} {method} {path} took {took:?}, API Gateway gives up at 29 s"
            );
        }
        // A denial would be cached per token for the TTL; a failed invocation is not.
        let (status, body) = api.authorize(&token).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{mode:?} authorizer: {body}");
        assert_eq!(body["errorType"], "StoreUnavailable", "{mode:?} authorizer: {body}");
    }

    proxy.set(Mode::Forward);
    assert_eq!(
        api.call("POST", "/signup", None, Some(credentials(&bob))).await.0,
        StatusCode::CREATED,
        "bob was never half-written"
    );
    let (status, _, session) = api.call("POST", "/auth", None, Some(credentials(&alice))).await;
    assert_eq!(status, StatusCode::OK, "alice is not locked out by the outage");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (status, _, items) = api.call("GET", "/work", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(items["result"], json!([]), "nothing was written during the outage");
    let (status, decision) = api.authorize(&token).await;
    assert_eq!((status, &decision["isAuthorized"]), (StatusCode::OK, &json!(true)), "{decision}");
}
