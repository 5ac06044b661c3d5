//! Handler tests on the sample events in `events/`, with the fake store.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::*;
use crate::{
    config::{SigningSecret, TokenSettings},
    testing::FakeStore,
    tokens::{TokenService, unix_now},
    work::WorkItem,
};

const SIGNUP: &str = include_str!("../../../events/signup.json");
const AUTH: &str = include_str!("../../../events/auth.json");
const LIST_WORK: &str = include_str!("../../../events/list-work.json");
const CREATE_WORK: &str = include_str!("../../../events/create-work.json");
const AUTHORIZER: &str = include_str!("../../../events/authorizer.json");
/// The `sub` in the sample events' authorizer context.
const EVENT_USER: &str = "01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D";

fn tokens() -> TokenService {
    let secret = SigningSecret::new(b"handler-tests-secret-0123456789-abcdefgh".to_vec()).unwrap();
    TokenService::new(&secret, TokenSettings::default())
}

/// A sample event with its JSON edited by `edit` first.
fn event(sample: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut json: Value = serde_json::from_str(sample).unwrap();
    edit(&mut json);
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

fn with_body(body: Value) -> impl FnOnce(&mut Value) {
    move |e| e["body"] = json!(body.to_string())
}

/// Removes the authorizer context and sets the `Authorization` header (or removes it).
fn without_authorizer(authorization: Option<String>) -> impl FnOnce(&mut Value) {
    move |e| {
        e["requestContext"].as_object_mut().unwrap().remove("authorizer");
        let headers = e["headers"].as_object_mut().unwrap();
        match authorization {
            Some(value) => headers.insert("authorization".into(), json!(value)),
            None => headers.remove("authorization"),
        };
    }
}

fn parts(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body().as_ref()).unwrap())
}

async fn signed_up(store: &FakeStore) {
    assert_eq!(parts(signup(store, event(SIGNUP, |_| {})).await.unwrap()).0, 201);
}

#[tokio::test]
async fn the_sample_signup_creates_a_user_with_a_hashed_password() {
    let store = FakeStore::default();
    let (status, body) = parts(signup(&store, event(SIGNUP, |_| {})).await.unwrap());
    assert_eq!((status, body), (201, json!({"Status": "Success", "result": "User created"})));
    let users = store.users.lock().unwrap();
    assert_eq!(users[0].username.as_str(), "joe");
    assert!(users[0].password_hash.as_str().starts_with("$argon2id$"));
}

#[tokio::test]
async fn a_case_variant_of_a_taken_name_is_a_conflict() {
    let store = FakeStore::default();
    signed_up(&store).await;
    let again = event(SIGNUP, with_body(json!({"username": "JOE", "password": "another password"})));
    let (status, body) = parts(signup(&store, again).await.unwrap());
    assert_eq!((status, body), (409, json!({"Status": "Error", "result": "User already exists"})));
    assert_eq!(store.users.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_signups_are_rejected_and_store_nothing() {
    let store = FakeStore::default();
    for (request, expected) in [
        (event(SIGNUP, with_body(json!({"username": "jo", "password": "long enough"}))), 400),
        (event(SIGNUP, with_body(json!({"username": "joe", "password": "short"}))), 400),
        (event(SIGNUP, with_body(json!({"username": "joe", "password": 12345678}))), 400),
        (event(SIGNUP, with_body(json!({"username": "joe"}))), 400),
        (event(SIGNUP, |e| e["body"] = json!("{not json")), 400),
        (event(SIGNUP, |e| e["headers"]["content-type"] = json!("text/plain")), 415),
        (event(SIGNUP, |e| e["body"] = json!(" ".repeat(16 * 1024 + 1))), 413),
    ] {
        let (status, body) = parts(signup(&store, request).await.unwrap());
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["Status"], "Error");
    }
    assert!(store.users.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_store_outage_is_503_with_retry_after() {
    let response = signup(&FakeStore::unavailable(), event(SIGNUP, |_| {})).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let response = auth(&FakeStore::unavailable(), &FakeStore::unavailable(), &tokens(), event(AUTH, |_| {}))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn the_sample_auth_returns_a_verifiable_uncacheable_token() {
    let store = FakeStore::default();
    signed_up(&store).await;
    let response = auth(&store, &store, &tokens(), event(AUTH, |_| {})).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = parts(response);
    assert_eq!(status, 200);
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
    let claims = tokens().verify(body["access_token"].as_str().unwrap(), unix_now()).unwrap();
    assert_eq!(claims.username, "joe");
    assert_eq!(claims.sub, store.users.lock().unwrap()[0].user_id);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_identical_401s() {
    let store = FakeStore::default();
    signed_up(&store).await;
    let mut bodies = Vec::new();
    for credentials in [
        json!({"username": "joe", "password": "wrong password"}),
        json!({"username": "nobody", "password": "correct horse battery staple"}),
        json!({"username": "x", "password": "y"}),
    ] {
        let response = auth(&store, &store, &tokens(), event(AUTH, with_body(credentials))).await.unwrap();
        assert_eq!(response.status(), 401);
        bodies.push(response.body().as_ref().to_vec());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

async fn login_status(store: &FakeStore, username: &str, password: &str) -> (u16, Option<String>, Vec<u8>) {
    let request = event(AUTH, with_body(json!({"username": username, "password": password})));
    let response = auth(store, store, &tokens(), request).await.unwrap();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry, response.body().as_ref().to_vec())
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let store = FakeStore::default();
    signed_up(&store).await;
    for _ in 0..5 {
        assert_eq!(login_status(&store, "joe", "wrong password").await.0, 401);
    }
    let (status, retry_after, _) = login_status(&store, "JOE", "correct horse battery staple").await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("1")));
}

#[tokio::test]
async fn a_locked_unknown_user_looks_exactly_like_a_locked_real_one() {
    let store = FakeStore::default();
    signed_up(&store).await;
    for _ in 0..5 {
        for name in ["joe", "nobody"] {
            login_status(&store, name, "wrong password").await;
        }
    }
    let real = login_status(&store, "joe", "wrong password").await;
    let unknown = login_status(&store, "nobody", "wrong password").await;
    assert_eq!(real.0, 429);
    assert_eq!(real, unknown);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let store = FakeStore::default();
    signed_up(&store).await;
    for _ in 0..4 {
        login_status(&store, "joe", "wrong password").await;
    }
    assert_eq!(login_status(&store, "joe", "correct horse battery staple").await.0, 200);
    assert!(store.failures.lock().unwrap().is_empty());
    for _ in 0..4 {
        assert_eq!(login_status(&store, "joe", "wrong password").await.0, 401);
    }
    assert_eq!(login_status(&store, "joe", "correct horse battery staple").await.0, 200);
}

#[tokio::test]
async fn a_common_password_cannot_sign_up() {
    let store = FakeStore::default();
    let request = event(SIGNUP, with_body(json!({"username": "joe", "password": "password1"})));
    let (status, body) = parts(signup(&store, request).await.unwrap());
    assert_eq!(status, 400);
    assert!(body["result"].as_str().unwrap().contains("too common"));
    assert!(store.users.lock().unwrap().is_empty());
}

fn item(user_id: &str, item_id: &str) -> WorkItem {
    WorkItem {
        user_id: user_id.into(),
        item_id: item_id.into(),
        title: format!("item {item_id}"),
        created_at: "2026-11-28T23:59:59Z".into(),
    }
}

#[tokio::test]
async fn list_work_returns_only_the_callers_items_newest_first() {
    let store = FakeStore::default();
    store.items.lock().unwrap().extend([
        item(EVENT_USER, "01JDQ90000000000000000000A"),
        item("01JDQOTHERUSER000000000000", "01JDQ90000000000000000000B"),
        item(EVENT_USER, "01JDQ90000000000000000000C"),
    ]);
    let (status, body) = parts(list_work(&store, None, event(LIST_WORK, |_| {})).await.unwrap());
    assert_eq!(status, 200);
    let ids: Vec<&str> =
        body["result"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["01JDQ90000000000000000000C", "01JDQ90000000000000000000A"]);
    assert_eq!(body["next"], Value::Null);
}

#[tokio::test]
async fn a_cached_authorizer_decision_past_the_token_expiry_is_refused() {
    let expired = event(LIST_WORK, |e| e["requestContext"]["authorizer"]["lambda"]["exp"] = json!(1_000));
    assert_eq!(list_work(&FakeStore::default(), None, expired).await.unwrap().status(), 401);
}

#[tokio::test]
async fn without_an_authorizer_the_header_is_verified_or_refused() {
    let store = FakeStore::default();
    let svc = tokens();
    let token = svc.issue(EVENT_USER, "joe", unix_now()).unwrap().token;
    for (header, verifier, expected) in [
        (Some(format!("JWT {token}")), Some(&svc), 200),
        (Some(format!("Bearer {token}")), Some(&svc), 200),
        (Some(format!("JWT {token}")), None, 401),
        (None, Some(&svc), 401),
        (Some(format!("Basic {token}")), Some(&svc), 401),
        (Some(format!("JWT {token}x")), Some(&svc), 401),
    ] {
        let request = event(LIST_WORK, without_authorizer(header.clone()));
        let response = list_work(&store, verifier, request).await.unwrap();
        assert_eq!(response.status(), expected, "{header:?} verifier={}", verifier.is_some());
    }
}

#[tokio::test]
async fn list_work_rejects_a_bad_limit_or_cursor() {
    for query in ["limit=0", "limit=101", "limit=ten", "cursor=not-a-cursor"] {
        let request = event(LIST_WORK, |e| {
            e["rawQueryString"] = json!(query);
            e.as_object_mut().unwrap().remove("queryStringParameters");
        });
        assert_eq!(list_work(&FakeStore::default(), None, request).await.unwrap().status(), 400, "{query}");
    }
}

#[tokio::test]
async fn the_sample_create_work_stores_the_item_for_the_caller() {
    let store = FakeStore::default();
    let (status, body) = parts(create_work(&store, None, event(CREATE_WORK, |_| {})).await.unwrap());
    assert_eq!(status, 201);
    assert_eq!(body["result"]["title"], "Write the quarterly report");
    let items = store.items.lock().unwrap();
    assert_eq!(
        (items[0].user_id.as_str(), items[0].item_id.as_str()),
        (EVENT_USER, body["result"]["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn create_work_refuses_bad_titles_and_strangers_and_stores_nothing() {
    let store = FakeStore::default();
    for (request, expected) in [
        (event(CREATE_WORK, with_body(json!({"title": ""}))), 400),
        (event(CREATE_WORK, with_body(json!({"title": "x".repeat(201)}))), 400),
        (event(CREATE_WORK, with_body(json!({"title": 7}))), 400),
        (event(CREATE_WORK, without_authorizer(None)), 401),
    ] {
        assert_eq!(create_work(&store, Some(&tokens()), request).await.unwrap().status(), expected);
    }
    assert!(store.items.lock().unwrap().is_empty());
}

fn authorizer_event(edit: impl FnOnce(&mut Value)) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut json: Value = serde_json::from_str(AUTHORIZER).unwrap();
    edit(&mut json);
    serde_json::from_value(json).unwrap()
}

#[test]
fn the_authorizer_denies_the_sample_token_it_cannot_verify() {
    let decision = authorize(&tokens(), &authorizer_event(|_| {}), unix_now());
    assert!(!decision.is_authorized);
    assert_eq!(decision.context, json!({}));
}

#[test]
fn the_authorizer_allows_a_valid_token_and_passes_the_identity() {
    let svc = tokens();
    let issued = svc.issue(EVENT_USER, "joe", unix_now()).unwrap();
    for scheme in ["JWT", "Bearer", "bearer"] {
        let value = format!("{scheme} {}", issued.token);
        let decision =
            authorize(&svc, &authorizer_event(|e| e["identitySource"] = json!([value])), unix_now());
        assert!(decision.is_authorized, "{scheme}");
        assert_eq!(decision.context["sub"], EVENT_USER);
        assert_eq!(decision.context["username"], "joe");
    }
}

#[test]
fn the_authorizer_denies_repeated_or_missing_credentials() {
    let svc = tokens();
    let token = svc.issue(EVENT_USER, "joe", unix_now()).unwrap().token;
    for source in [
        json!([]),
        json!([format!("JWT {token}"), format!("JWT {token}")]),
        json!([format!("JWT {token}, JWT {token}")]),
        json!([format!("Basic {token}")]),
    ] {
        let decision =
            authorize(&svc, &authorizer_event(|e| e["identitySource"] = source.clone()), unix_now());
        assert!(!decision.is_authorized, "{source}");
    }
}
