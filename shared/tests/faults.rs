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

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::Api;
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

fn credentials(name: &str) -> Value {
    json!({"username": name, "password": "outage tested password"})
}

#[tokio::test]
async fn a_failing_database_gives_prompt_503s_and_no_half_written_state() {
    let suite = "the fault suite";
    let Some(base) = support::local("FAULT_BASE_URL", suite) else { return };
    let port: u16 = support::local("FAULT_PROXY_PORT", suite).unwrap().parse().unwrap();
    let upstream = support::local("AWS_ENDPOINT_URL_DYNAMODB", suite).unwrap();
    let proxy = Proxy::start(port, upstream.trim_start_matches("http://").to_owned()).await;
    let api = Api::at(base);
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let (alice, bob) = (format!("fault-a-{suffix}"), format!("fault-b-{suffix}"));

    assert_eq!(
        api.call(Method::POST, "/signup", None, Some(credentials(&alice))).await.0,
        StatusCode::CREATED
    );
    let (status, _, session) = api.call(Method::POST, "/auth", None, Some(credentials(&alice))).await;
    assert_eq!(status, StatusCode::OK);
    let token = session["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");

    for mode in [Mode::Refuse, Mode::Stall] {
        proxy.set(mode);
        for (method, path, auth, body) in [
            (Method::POST, "/signup", None, Some(credentials(&bob))),
            (Method::POST, "/auth", None, Some(credentials(&alice))),
            (Method::POST, "/refresh", None, Some(json!({"refresh_token": session["refresh_token"]}))),
            (Method::GET, "/work", Some(bearer.as_str()), None),
            (Method::POST, "/work", Some(bearer.as_str()), Some(json!({"title": "during the outage"}))),
            (
                Method::POST,
                "/password",
                Some(bearer.as_str()),
                Some(
                    json!({"current_password": "outage tested password", "new_password": "changed in an outage"}),
                ),
            ),
            (Method::GET, "/account", Some(bearer.as_str()), None),
            (
                Method::DELETE,
                "/account",
                Some(bearer.as_str()),
                Some(json!({"password": "outage tested password"})),
            ),
        ] {
            let started = Instant::now();
            let (status, retry_after, body) = api.call(method.clone(), path, auth, body).await;
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
        api.call(Method::POST, "/signup", None, Some(credentials(&bob))).await.0,
        StatusCode::CREATED,
        "bob was never half-written"
    );
    let (status, _, session) = api.call(Method::POST, "/auth", None, Some(credentials(&alice))).await;
    assert_eq!(status, StatusCode::OK, "alice is neither locked out, deleted nor moved to another password");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (status, _, items) = api.call(Method::GET, "/work", Some(&format!("Bearer {token}")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(items["result"], json!([]), "nothing was written during the outage");
    let (status, decision) = api.authorize(&token).await;
    assert_eq!((status, &decision["isAuthorized"]), (StatusCode::OK, &json!(true)), "{decision}");
}
