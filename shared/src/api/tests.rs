//! Handler tests on the sample events in `events/`, with the fake store.

use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::*;
use crate::{
    clock::unix_now,
    identity::{Authenticator, Rejection},
    keys::{KeyMaterial, KeySet, ServerSecret, test_keys},
    refresh::{ClientSeen, Family, RefreshSettings, RefreshToken},
    store::StoreError,
    testing::{FakeStore, unreachable_key_source},
    throttle::{Route, SourceLimit, Throttle},
    tokens::{TokenError, TokenService, TokenSettings},
    work::WorkItem,
};

const SIGNUP: &str = include_str!("../../../events/signup.json");
const AUTH: &str = include_str!("../../../events/auth.json");
const LIST_WORK: &str = include_str!("../../../events/list-work.json");
const CREATE_WORK: &str = include_str!("../../../events/create-work.json");
const AUTHORIZER: &str = include_str!("../../../events/authorizer.json");
/// The `sub` in the sample events' authorizer context.
const EVENT_USER: &str = "01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D";
/// A session of [`EVENT_USER`]'s.
const EVENT_SESSION: &str = "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E";

fn tokens() -> TokenService {
    TokenService::new(&test_keys::private(0), TokenSettings::default())
}

fn issuer() -> Issuer {
    Issuer::new(tokens(), RefreshSettings::default(), server_secret())
}

/// `route`'s default per-source limit, over counts of its own.
fn throttle(route: Route) -> Throttle<FakeStore> {
    Throttle { counters: FakeStore::default(), limit: SourceLimit::default_for(route) }
}

fn server_secret() -> ServerSecret {
    ServerSecret::new(b"handler-tests-server-secret-0123456789-xyz").unwrap()
}

fn authenticator(store: &FakeStore) -> Authenticator<&FakeStore, &FakeStore> {
    Authenticator::new(tokens(), store, store)
}

/// As deployed, where only the authorizer's context counts.
fn no_auth() -> &'static Callers<FakeStore, FakeStore> {
    &Callers::Authorizer
}

/// As under `cargo lambda watch`: the header is verified against `store`.
fn verifying(store: &FakeStore) -> Callers<&FakeStore, &FakeStore> {
    Callers::Verify(Box::new(authenticator(store)))
}

/// A store holding the user the sample events' authorizer context names, and a live session of
/// theirs, [`EVENT_SESSION`].
fn store_with_event_user() -> FakeStore {
    let store = FakeStore::default();
    let user: crate::users::User = serde_json::from_value(json!({
        "username": "joe", "user_id": EVENT_USER, "created_at": "2026-11-28T23:59:59Z",
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
    }))
    .unwrap();
    let session = Family::start(
        EVENT_SESSION,
        &user.account(),
        unix_now(),
        ClientSeen::default(),
        &RefreshSettings::default(),
    );
    store.families.lock().unwrap().push(session);
    store.users.lock().unwrap().push(user);
    store
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
    let response = auth(
        &FakeStore::unavailable(),
        &FakeStore::unavailable(),
        &FakeStore::unavailable(),
        &Throttle { counters: FakeStore::unavailable(), limit: SourceLimit::default_for(Route::Auth) },
        &issuer(),
        event(AUTH, |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn the_sample_auth_returns_a_verifiable_uncacheable_token() {
    let store = FakeStore::default();
    signed_up(&store).await;
    let response =
        auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = parts(response);
    assert_eq!(status, 200);
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
    let claims = tokens().verify(body["access_token"].as_str().unwrap(), unix_now()).unwrap();
    assert!(RefreshToken::parse(body["refresh_token"].as_str().unwrap()).is_some());
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
        let response = auth(
            &store,
            &store,
            &store,
            &throttle(Route::Auth),
            &issuer(),
            event(AUTH, with_body(credentials)),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 401);
        bodies.push(response.body().as_ref().to_vec());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

async fn login_status(store: &FakeStore, username: &str, password: &str) -> (u16, Option<String>, Vec<u8>) {
    let request = event(AUTH, with_body(json!({"username": username, "password": password})));
    let response = auth(store, store, store, &throttle(Route::Auth), &issuer(), request).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_get_no_more_password_checks_than_the_free_failures() {
    let store = std::sync::Arc::new(FakeStore::default());
    signed_up(&store).await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        let password = if i == 19 { "correct horse battery staple" } else { "wrong password" };
        guesses.spawn(async move { login_status(&store, "joe", password).await.0 });
    }
    let statuses = guesses.join_all().await;
    let checked = statuses.iter().filter(|s| [200, 401].contains(s)).count();
    assert_eq!(checked + statuses.iter().filter(|&&s| s == 429).count(), 20, "{statuses:?}");
    assert_eq!(checked, crate::lockout::FREE_FAILURES as usize, "{statuses:?}");
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
    let (status, body) = parts(list_work(&store, no_auth(), event(LIST_WORK, |_| {})).await.unwrap());
    assert_eq!(status, 200);
    let ids: Vec<&str> =
        body["result"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["01JDQ90000000000000000000C", "01JDQ90000000000000000000A"]);
    assert_eq!(body["next"], Value::Null);
}

#[tokio::test]
async fn a_cached_authorizer_decision_past_the_token_expiry_is_refused() {
    let expired = event(LIST_WORK, |e| e["requestContext"]["authorizer"]["lambda"]["exp"] = json!(1_000));
    assert_eq!(list_work(&FakeStore::default(), no_auth(), expired).await.unwrap().status(), 401);
}

#[tokio::test]
async fn without_an_authorizer_the_header_is_verified_or_refused() {
    let store = store_with_event_user();
    let token = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    for (header, verifies, expected) in [
        (Some(format!("JWT {token}")), true, 200),
        (Some(format!("Bearer {token}")), true, 200),
        (Some(format!("JWT {token}")), false, 401),
        (None, true, 401),
        (Some(format!("Basic {token}")), true, 401),
        (Some(format!("JWT {token}x")), true, 401),
    ] {
        let request = event(LIST_WORK, without_authorizer(header.clone()));
        let response = if verifies {
            list_work(&store, &verifying(&store), request).await.unwrap()
        } else {
            list_work(&store, &Callers::<&FakeStore, &FakeStore>::Authorizer, request).await.unwrap()
        };
        assert_eq!(response.status(), expected, "{header:?} verifier={verifies}");
    }
}

#[tokio::test]
async fn list_work_rejects_a_bad_limit_or_cursor() {
    for query in ["limit=0", "limit=101", "limit=ten", "cursor=not-a-cursor"] {
        let request = event(LIST_WORK, |e| {
            e["rawQueryString"] = json!(query);
            e.as_object_mut().unwrap().remove("queryStringParameters");
        });
        assert_eq!(
            list_work(&FakeStore::default(), no_auth(), request).await.unwrap().status(),
            400,
            "{query}"
        );
    }
}

#[tokio::test]
async fn the_sample_create_work_stores_the_item_for_the_caller() {
    let store = FakeStore::default();
    let (status, body) = parts(create_work(&store, no_auth(), event(CREATE_WORK, |_| {})).await.unwrap());
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
        assert_eq!(create_work(&store, &verifying(&store), request).await.unwrap().status(), expected);
    }
    assert!(store.items.lock().unwrap().is_empty());
}

fn authorizer_event(edit: impl FnOnce(&mut Value)) -> AuthorizerRequest {
    let mut json: Value = serde_json::from_str(AUTHORIZER).unwrap();
    edit(&mut json);
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn the_authorizer_denies_the_sample_token_it_cannot_verify() {
    let store = store_with_event_user();
    let decision = authorize(&authenticator(&store), &authorizer_event(|_| {}), unix_now()).await.unwrap();
    assert!(!decision.is_authorized);
    assert_eq!(decision.context, json!({}));
}

#[tokio::test]
async fn the_authorizer_allows_a_valid_token_and_passes_the_identity() {
    let store = store_with_event_user();
    let svc = authenticator(&store);
    let issued = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap();
    for scheme in ["JWT", "Bearer", "bearer"] {
        let value = format!("{scheme} {}", issued.token);
        let decision =
            authorize(&svc, &authorizer_event(|e| e["identitySource"] = json!([value])), unix_now())
                .await
                .unwrap();
        assert!(decision.is_authorized, "{scheme}");
        assert_eq!(decision.context["sub"], EVENT_USER);
        assert_eq!(decision.context["username"], "joe");
    }
}

#[tokio::test]
async fn the_authorizer_fails_uncached_rather_than_deny_when_the_account_cannot_be_checked() {
    let store = FakeStore::unavailable();
    let token = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    let valid = authorizer_event(|e| e["identitySource"] = json!([format!("JWT {token}")]));
    assert!(matches!(
        authorize(&authenticator(&store), &valid, unix_now()).await,
        Err(Rejection::Store(StoreError::Unavailable(_)))
    ));
    let forged = authorizer_event(|e| e["identitySource"] = json!([format!("JWT {token}x")]));
    let decision = authorize(&authenticator(&store), &forged, unix_now()).await.unwrap();
    assert!(!decision.is_authorized, "a token that fails on its own is still a plain denial");
}

#[tokio::test]
async fn the_authorizer_fails_uncached_rather_than_deny_a_new_key_it_cannot_load() {
    let store = store_with_event_user();
    let keys = KeySet::single(KeyMaterial::Private(test_keys::private(0))).public_only();
    let reloading = TokenService::with_keys(&keys, TokenSettings::default(), Some(unreachable_key_source()));
    reloading.reload_keys_if_older_than(Duration::ZERO).await.unwrap_err();
    let svc = Authenticator::new(reloading, &store, &store);
    let rotated = TokenService::new(&test_keys::private(1), TokenSettings::default());
    let token = rotated.issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    let event = authorizer_event(|e| e["identitySource"] = json!([format!("JWT {token}")]));
    assert!(matches!(
        authorize(&svc, &event, unix_now()).await,
        Err(Rejection::Token(TokenError::KeysUnavailable))
    ));
    let ours = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    let event = authorizer_event(|e| e["identitySource"] = json!([format!("JWT {ours}")]));
    assert!(authorize(&svc, &event, unix_now()).await.unwrap().is_authorized, "known keys still decide");
}

#[tokio::test]
async fn the_authorizer_denies_repeated_or_missing_credentials() {
    let store = store_with_event_user();
    let svc = authenticator(&store);
    let token = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    for source in [
        json!([]),
        json!([format!("JWT {token}"), format!("JWT {token}")]),
        json!([format!("JWT {token}, JWT {token}")]),
        json!([format!("Basic {token}")]),
    ] {
        let decision =
            authorize(&svc, &authorizer_event(|e| e["identitySource"] = source.clone()), unix_now())
                .await
                .unwrap();
        assert!(!decision.is_authorized, "{source}");
    }
}

#[tokio::test]
async fn without_an_identity_source_the_authorizer_reads_the_one_authorization_header() {
    let store = store_with_event_user();
    let svc = authenticator(&store);
    let token = tokens().issue(EVENT_USER, "joe", 0, EVENT_SESSION, "", unix_now()).unwrap().token;
    let decide = |header: Option<String>| {
        let event = authorizer_event(|e| {
            e.as_object_mut().unwrap().remove("identitySource");
            e["headers"]["authorization"] = json!(header);
        });
        let svc = &svc;
        async move { authorize(svc, &event, unix_now()).await.unwrap().is_authorized }
    };
    assert!(decide(Some(format!("JWT {token}"))).await);
    assert!(!decide(Some(format!("JWT {token}, JWT {token}"))).await, "repeated headers, joined");
    assert!(!decide(None).await, "no header");
}

const REFRESH: &str = include_str!("../../../events/refresh.json");
const LOGOUT: &str = include_str!("../../../events/logout.json");

/// Signs up and logs in; returns the session body.
async fn session(store: &FakeStore) -> Value {
    signed_up(store).await;
    let (status, body) = parts(
        auth(store, store, store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap(),
    );
    assert_eq!(status, 200);
    body
}

async fn refresh_with(store: &FakeStore, token: &Value) -> (u16, Value) {
    let request = event(REFRESH, with_body(json!({ "refresh_token": token })));
    parts(refresh(store, store, &throttle(Route::Refresh), &issuer(), request).await.unwrap())
}

#[tokio::test]
async fn a_refresh_rotates_to_a_new_pair() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let (status, body) = refresh_with(&store, &login["refresh_token"]).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["refresh_token"], login["refresh_token"]);
    assert!(tokens().verify(body["access_token"].as_str().unwrap(), unix_now()).is_ok());
    let (status, next) = refresh_with(&store, &body["refresh_token"]).await;
    assert_eq!(status, 200);
    assert_ne!(next["refresh_token"], body["refresh_token"]);
}

#[tokio::test]
async fn a_retry_within_the_grace_window_gets_the_same_child() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let first = refresh_with(&store, &login["refresh_token"]).await;
    let retry = refresh_with(&store, &login["refresh_token"]).await;
    assert_eq!((first.0, retry.0), (200, 200));
    assert_eq!(first.1["refresh_token"], retry.1["refresh_token"]);
    assert_eq!(store.refresh_tokens.lock().unwrap().len(), 2, "root and one child");
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let (_, child) = refresh_with(&store, &login["refresh_token"]).await;
    store.refresh_tokens.lock().unwrap()[0].used_at_ms = Some(1_000); // consumed long ago
    let (status, body) = refresh_with(&store, &login["refresh_token"]).await;
    assert_eq!((status, body["result"].as_str()), (401, Some("Invalid or expired refresh token")));
    assert!(store.families.lock().unwrap()[0].revoked);
    assert_eq!(refresh_with(&store, &child["refresh_token"]).await.0, 401, "the thief's child is dead too");
}

#[tokio::test]
async fn unknown_malformed_or_mistyped_refresh_tokens_are_refused() {
    let store = FakeStore::default();
    session(&store).await;
    for token in [json!(RefreshToken::generate().expose()), json!("short"), json!(""), json!(42)] {
        let status = refresh_with(&store, &token).await.0;
        assert!(status == 401 || status == 400, "{token}: {status}");
    }
}

#[tokio::test]
async fn a_disabled_user_gets_no_tokens_and_loses_the_ones_it_has() {
    let store = FakeStore::default();
    let login = session(&store).await;
    store.users.lock().unwrap()[0].disabled = true;
    assert_eq!(refresh_with(&store, &login["refresh_token"]).await.0, 401);
    assert_eq!(login_status(&store, "joe", "correct horse battery staple").await.0, 401);
    let header = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let request = event(LIST_WORK, without_authorizer(Some(header)));
    assert_eq!(list_work(&store, &verifying(&store), request).await.unwrap().status(), 401);
}

async fn logout_with(store: &FakeStore, access_token: &Value, body: Value) -> u16 {
    let header = format!("JWT {}", access_token.as_str().unwrap());
    let request = event(LOGOUT, |e| {
        without_authorizer(Some(header))(e);
        e["body"] = json!(body.to_string());
    });
    logout(store, store, &verifying(store), request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn logout_revokes_one_session_and_leaves_others() {
    let store = FakeStore::default();
    let first = session(&store).await;
    let (_, second) = parts(
        auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap(),
    );
    assert_eq!(
        logout_with(&store, &first["access_token"], json!({"refresh_token": first["refresh_token"]})).await,
        204
    );
    assert_eq!(refresh_with(&store, &first["refresh_token"]).await.0, 401);
    assert_eq!(refresh_with(&store, &second["refresh_token"]).await.0, 200);
}

#[tokio::test]
async fn logout_everywhere_kills_every_refresh_and_access_token() {
    let store = FakeStore::default();
    let login = session(&store).await;
    assert_eq!(logout_with(&store, &login["access_token"], json!({"all": true})).await, 204);
    assert_eq!(refresh_with(&store, &login["refresh_token"]).await.0, 401);
    assert_eq!(logout_with(&store, &login["access_token"], json!({"all": true})).await, 401);
    let (status, fresh) = parts(
        auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(refresh_with(&store, &fresh["refresh_token"]).await.0, 200, "a new login works again");
}

#[tokio::test]
async fn logout_needs_exactly_one_of_token_or_all() {
    let store = FakeStore::default();
    let login = session(&store).await;
    for body in [
        json!({}),
        json!({"all": false}),
        json!({"all": true, "refresh_token": login["refresh_token"]}),
        json!({"refresh_token": "not a refresh token"}),
    ] {
        assert_eq!(logout_with(&store, &login["access_token"], body.clone()).await, 400, "{body}");
    }
}

#[tokio::test]
async fn logging_out_someone_elses_session_changes_nothing() {
    let store = FakeStore::default();
    let joe = session(&store).await;
    let request = event(SIGNUP, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    assert_eq!(signup(&store, request).await.unwrap().status(), 201);
    let request = event(AUTH, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    let (_, mallory) =
        parts(auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), request).await.unwrap());
    assert_eq!(
        logout_with(&store, &mallory["access_token"], json!({"refresh_token": joe["refresh_token"]})).await,
        204
    );
    assert_eq!(refresh_with(&store, &joe["refresh_token"]).await.0, 200);
}

#[tokio::test]
async fn a_live_account_finding_is_reused_only_while_fresh() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let token = login["access_token"].as_str().unwrap();
    let authenticator =
        Authenticator::new(tokens(), &store, &store).caching_account_checks(Duration::from_millis(200));
    assert!(authenticator.verify(token, unix_now()).await.is_ok());
    store.users.lock().unwrap()[0].disabled = true;
    assert!(authenticator.verify(token, unix_now()).await.is_ok(), "within the window the finding stands");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(authenticator.verify(token, unix_now()).await.is_err(), "a stale finding is checked again");
    assert!(authenticator.verify(token, unix_now()).await.is_err(), "and a refusal is never cached");
}

#[tokio::test]
async fn a_token_of_another_version_is_never_vouched_for_by_the_cache() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let old = login["access_token"].as_str().unwrap();
    let authenticator =
        Authenticator::new(tokens(), &store, &store).caching_account_checks(Duration::from_secs(60));
    assert!(authenticator.verify(old, unix_now()).await.is_ok());
    store.users.lock().unwrap()[0].token_version += 1;
    let (_, fresh) = parts(
        auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap(),
    );
    let fresh = fresh["access_token"].as_str().unwrap();
    assert!(authenticator.verify(fresh, unix_now()).await.is_ok(), "the new version is read from the store");
    assert!(authenticator.verify(old, unix_now()).await.is_err(), "which replaces the old finding");
}

#[tokio::test]
async fn without_a_cache_every_check_reads_the_account() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let token = login["access_token"].as_str().unwrap();
    let authenticator = authenticator(&store);
    assert!(authenticator.verify(token, unix_now()).await.is_ok());
    store.users.lock().unwrap()[0].disabled = true;
    assert!(authenticator.verify(token, unix_now()).await.is_err());
}

const LIST_SESSIONS: &str = include_str!("../../../events/list-sessions.json");
const END_SESSIONS: &str = include_str!("../../../events/end-sessions.json");

/// Logs in again (after [`session`] signed up); returns the session body.
async fn another_session(store: &FakeStore) -> Value {
    let (status, body) = parts(
        auth(store, store, store, &throttle(Route::Auth), &issuer(), event(AUTH, |_| {})).await.unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    body
}

/// `GET /work` with `access_token`, verified against `store` as under `cargo lambda watch`.
async fn work_status(store: &FakeStore, access_token: &Value) -> u16 {
    let header = format!("Bearer {}", access_token.as_str().unwrap());
    let request = event(LIST_WORK, without_authorizer(Some(header)));
    list_work(store, &verifying(store), request).await.unwrap().status().as_u16()
}

/// The `sid` of an access token.
fn sid_of(access_token: &Value) -> String {
    tokens().verify(access_token.as_str().unwrap(), unix_now()).unwrap().sid
}

async fn list_sessions_with(store: &FakeStore, access_token: &Value) -> (u16, Value) {
    let header = format!("Bearer {}", access_token.as_str().unwrap());
    parts(
        list_sessions(store, &verifying(store), event(LIST_SESSIONS, without_authorizer(Some(header))))
            .await
            .unwrap(),
    )
}

/// `DELETE /sessions/{id}`, or `DELETE /sessions` without an id.
async fn end_sessions_with(store: &FakeStore, access_token: &Value, id: Option<&str>) -> (u16, Vec<u8>) {
    let header = format!("Bearer {}", access_token.as_str().unwrap());
    let request = event(END_SESSIONS, |e| {
        without_authorizer(Some(header))(e);
        match id {
            Some(id) => {
                e["pathParameters"]["id"] = json!(id);
                e["rawPath"] = json!(format!("/sessions/{id}"));
            }
            None => {
                e.as_object_mut().unwrap().remove("pathParameters");
                e["rawPath"] = json!("/sessions");
            }
        }
    });
    let response = end_sessions(store, &verifying(store), request).await.unwrap();
    (response.status().as_u16(), response.body().as_ref().to_vec())
}

#[tokio::test]
async fn access_tokens_name_their_session() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let sid = sid_of(&login["access_token"]);
    let families = store.families.lock().unwrap();
    assert_eq!(families[0].id(), sid);
    assert_eq!(families[0].session_user.as_deref(), Some(families[0].user_id.as_str()));
}

#[tokio::test]
async fn logging_out_one_session_ends_its_access_tokens_and_leaves_the_others() {
    let store = FakeStore::default();
    let phone = session(&store).await;
    let laptop = another_session(&store).await;
    assert_eq!(work_status(&store, &phone["access_token"]).await, 200);
    let one = json!({"refresh_token": phone["refresh_token"]});
    assert_eq!(logout_with(&store, &laptop["access_token"], one).await, 204);
    assert_eq!(work_status(&store, &phone["access_token"]).await, 401, "the ended session's access token");
    assert_eq!(work_status(&store, &laptop["access_token"]).await, 200, "the other session's");
    assert_eq!(refresh_with(&store, &laptop["refresh_token"]).await.0, 200);
}

#[tokio::test]
async fn reuse_detection_ends_the_access_tokens_of_the_family_too() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let (_, child) = refresh_with(&store, &login["refresh_token"]).await;
    store.refresh_tokens.lock().unwrap()[0].used_at_ms = Some(1_000); // consumed long ago
    assert_eq!(refresh_with(&store, &login["refresh_token"]).await.0, 401);
    for token in [&login["access_token"], &child["access_token"]] {
        assert_eq!(work_status(&store, token).await, 401);
    }
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_end_however_often_it_refreshes() {
    let store = FakeStore::default();
    let short = Issuer::new(
        tokens(),
        RefreshSettings { session_max: Duration::from_secs(3_600), ..RefreshSettings::default() },
        server_secret(),
    );
    signed_up(&store).await;
    let (_, login) = parts(
        auth(&store, &store, &store, &throttle(Route::Auth), &short, event(AUTH, |_| {})).await.unwrap(),
    );
    let started = unix_now();
    {
        let families = store.families.lock().unwrap();
        assert_eq!(families[0].ends_at, Some(families[0].created_at.unwrap() + 3_600));
        assert!(families[0].expires_at <= started + 3_600, "the refresh token never outlives the session");
    }
    let request = event(REFRESH, with_body(json!({ "refresh_token": login["refresh_token"] })));
    let (status, rotated) =
        parts(refresh(&store, &store, &throttle(Route::Refresh), &short, request).await.unwrap());
    assert_eq!(status, 200);
    assert!(store.refresh_tokens.lock().unwrap()[1].expires_at <= started + 3_600);
    store.families.lock().unwrap()[0].ends_at = Some(unix_now() - 1);
    let request = event(REFRESH, with_body(json!({ "refresh_token": rotated["refresh_token"] })));
    assert_eq!(
        refresh(&store, &store, &throttle(Route::Refresh), &short, request).await.unwrap().status(),
        401,
        "past its end"
    );
    assert_eq!(work_status(&store, &rotated["access_token"]).await, 401, "and so are its access tokens");
}

/// An access token signed with our key, but naming no session.
fn token_without_sid(user_id: &str, username: &str) -> Value {
    let now = unix_now();
    let claims = json!({"iss": "jwt-auth", "aud": "jwt-auth-api", "sub": user_id, "client_id": "jwt-auth",
        "username": username, "ver": 0, "iat": now, "nbf": now, "exp": now + 900,
        "jti": "01JDQ8ZR4V6W8X0Y2Z2A4B6C8D"});
    let key = test_keys::private(0);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.public().kid().to_owned());
    crate::tokens::install_jwt_crypto();
    json!(jsonwebtoken::encode(&header, &claims, key.encoding()).unwrap())
}

#[tokio::test]
async fn a_token_of_our_key_that_names_no_session_is_refused() {
    let store = FakeStore::default();
    session(&store).await;
    let user_id = store.users.lock().unwrap()[0].user_id.clone();
    let sessionless = token_without_sid(&user_id, "joe");
    assert_eq!(work_status(&store, &sessionless).await, 401, "a token no session can end is no token");
    let (status, _) = list_sessions_with(&store, &sessionless).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_caller_sees_their_live_sessions_newest_first_with_their_own_marked() {
    let store = FakeStore::default();
    let first = session(&store).await;
    let second = another_session(&store).await;
    let request = event(SIGNUP, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    assert_eq!(signup(&store, request).await.unwrap().status(), 201);
    let request = event(AUTH, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    assert_eq!(
        auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), request).await.unwrap().status(),
        200
    );

    let (status, body) = list_sessions_with(&store, &first["access_token"]).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["result"].as_array().unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [sid_of(&second["access_token"]), sid_of(&first["access_token"])],
        "newest first, mallory's not"
    );
    assert_eq!((listed[0]["current"].as_bool(), listed[1]["current"].as_bool()), (Some(false), Some(true)));
    for field in ["created_at", "last_used_at", "expires_at", "ends_at"] {
        assert!(listed[1][field].as_str().unwrap().ends_with('Z'), "{field}: {}", listed[1]);
    }
    assert_eq!(
        listed[1]["created_from"],
        json!({"ip": "203.0.113.10", "user_agent": "python-requests/2.32.3"})
    );

    assert_eq!(
        logout_with(&store, &first["access_token"], json!({"refresh_token": second["refresh_token"]})).await,
        204
    );
    let (_, body) = list_sessions_with(&store, &first["access_token"]).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 1, "an ended session is not listed: {body}");
}

#[tokio::test]
async fn ending_one_session_by_id_refuses_its_tokens_and_a_foreign_id_looks_unknown() {
    let store = FakeStore::default();
    let mine = session(&store).await;
    let other = another_session(&store).await;
    let request = event(SIGNUP, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    assert_eq!(signup(&store, request).await.unwrap().status(), 201);
    let request = event(AUTH, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    let (_, mallory) =
        parts(auth(&store, &store, &store, &throttle(Route::Auth), &issuer(), request).await.unwrap());

    let foreign =
        end_sessions_with(&store, &mallory["access_token"], Some(&sid_of(&mine["access_token"]))).await;
    let unknown =
        end_sessions_with(&store, &mallory["access_token"], Some(&ulid::Ulid::new().to_string())).await;
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, unknown, "someone else's session is answered as an unknown one");
    assert_eq!(work_status(&store, &mine["access_token"]).await, 200, "and is left alone");

    let other_id = sid_of(&other["access_token"]);
    assert_eq!(end_sessions_with(&store, &mine["access_token"], Some(&other_id)).await.0, 204);
    assert_eq!(work_status(&store, &other["access_token"]).await, 401);
    assert_eq!(refresh_with(&store, &other["refresh_token"]).await.0, 401);
    assert_eq!(
        end_sessions_with(&store, &mine["access_token"], Some(&other_id)).await,
        unknown,
        "twice: gone"
    );
    assert_eq!(end_sessions_with(&store, &mine["access_token"], Some("not-a-session")).await.0, 400);
    assert_eq!(work_status(&store, &mine["access_token"]).await, 200);
}

#[tokio::test]
async fn ending_the_other_sessions_keeps_the_callers_own() {
    let store = FakeStore::default();
    let mine = session(&store).await;
    let others = [another_session(&store).await, another_session(&store).await];
    assert_eq!(end_sessions_with(&store, &mine["access_token"], None).await.0, 204);
    for other in &others {
        assert_eq!(work_status(&store, &other["access_token"]).await, 401);
        assert_eq!(refresh_with(&store, &other["refresh_token"]).await.0, 401);
    }
    assert_eq!(work_status(&store, &mine["access_token"]).await, 200);
    assert_eq!(refresh_with(&store, &mine["refresh_token"]).await.0, 200);
    let (_, body) = list_sessions_with(&store, &mine["access_token"]).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test]
async fn an_ended_session_is_refused_once_the_live_finding_is_stale_and_never_cached_as_refused() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let token = login["access_token"].as_str().unwrap();
    let authenticator =
        Authenticator::new(tokens(), &store, &store).caching_account_checks(Duration::from_millis(200));
    assert!(authenticator.verify(token, unix_now()).await.is_ok());
    store.families.lock().unwrap()[0].revoked = true;
    assert!(authenticator.verify(token, unix_now()).await.is_ok(), "within the window the finding stands");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let refused = authenticator.verify(token, unix_now()).await;
    assert!(matches!(refused, Err(Rejection::SessionEnded)), "{refused:?}");
    store.families.lock().unwrap()[0].revoked = false;
    assert!(authenticator.verify(token, unix_now()).await.is_ok(), "a refusal is never cached");
}

/// What `work` logs, as JSON lines (the deployed format), and its output.
async fn logs_of<T>(work: impl std::future::Future<Output = T>) -> (T, String) {
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    let output = {
        let _current = tracing::subscriber::set_default(subscriber);
        work.await
    };
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (output, text)
}

/// The audit events among `logs`: each line's fields.
fn audit_events(logs: &str) -> Vec<Value> {
    logs.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["fields"].clone())
        .filter(|fields| fields.get("audit").is_some())
        .collect()
}

#[tokio::test]
async fn failed_and_locked_logins_join_the_audit_trail_by_keyed_hash_never_by_name_or_password() {
    let store = FakeStore::default();
    signed_up(&store).await;
    let (_, logs) = logs_of(async {
        for _ in 0..6 {
            login_status(&store, "Joe", "wrong password").await;
        }
    })
    .await;
    let events = audit_events(&logs);
    let kinds: Vec<&str> = events.iter().map(|e| e["audit"].as_str().unwrap()).collect();
    assert_eq!(kinds, [["login_failed"; 5].as_slice(), &["login_locked"]].concat(), "{logs}");
    let subject = crate::audit::Audit::new(&server_secret()).subject("joe");
    for event in &events {
        assert_eq!(event["subject"], subject.as_str());
        assert_eq!(event["source_ip"], "203.0.113.10");
        assert_eq!(event["user_agent"], "python-requests/2.32.3");
    }
    for secret in ["wrong password", "\"Joe\"", "\"joe\""] {
        assert!(!logs.contains(secret), "{secret} is in the log: {logs}");
    }
}

#[tokio::test]
async fn a_replayed_and_a_stolen_refresh_token_join_the_audit_trail() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let (_, logs) = logs_of(async {
        refresh_with(&store, &login["refresh_token"]).await;
        refresh_with(&store, &login["refresh_token"]).await; // a retry within the grace window
        store.refresh_tokens.lock().unwrap()[0].used_at_ms = Some(1_000); // consumed long ago
        refresh_with(&store, &login["refresh_token"]).await;
    })
    .await;
    let kinds: Vec<String> =
        audit_events(&logs).iter().map(|e| e["audit"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["refresh_replayed", "refresh_reused"], "{logs}");
    assert!(!logs.contains(login["refresh_token"].as_str().unwrap()), "no token in the log");
}
mod accounts;

#[tokio::test]
async fn a_refresh_flood_is_refused_before_any_token_is_read_and_logged_once_a_window() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let throttle = Throttle {
        counters: FakeStore::default(),
        limit: SourceLimit { route: Route::Refresh, per_minute: 2 },
    };
    let issuer = issuer();
    let refresh_from = |ip: &'static str, token: &Value| {
        let body = json!({ "refresh_token": token });
        let request = event(REFRESH, |e| {
            e["requestContext"]["http"]["sourceIp"] = json!(ip);
            e["body"] = json!(body.to_string());
        });
        refresh(&store, &store, &throttle, &issuer, request)
    };
    let ((), logs) = logs_of(async {
        for _ in 0..2 {
            assert_eq!(refresh_from("198.51.100.7", &json!("not a token")).await.unwrap().status(), 401);
        }
        for _ in 0..3 {
            let refused = refresh_from("198.51.100.7", &login["refresh_token"]).await.unwrap();
            assert_eq!(refused.status(), 429);
            assert!(refused.headers().contains_key("retry-after"));
        }
    })
    .await;
    let events = audit_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert_eq!(
        (events[0]["audit"].as_str(), events[0]["route"].as_str()),
        (Some("source_limited"), Some("refresh"))
    );
    assert_eq!(events[0]["source_ip"], "198.51.100.7");
    let (status, _) = parts(refresh_from("203.0.113.10", &login["refresh_token"]).await.unwrap());
    assert_eq!(
        status, 200,
        "another network's refresh goes through, with a token the refused ones left unused"
    );
}
