//! The handlers on the sample events in `events/`, against real tables.

use auth_core::{
    api::{self, Callers, Issuer},
    clock::unix_now,
    dynamodb::{LoginAttemptTable, UserTable},
    identity::Authenticator,
    keys::{PrivateKey, ServerSecret},
    refresh::RefreshSettings,
    throttle::{Route, SourceLimit, Throttle},
    tokens::{TokenService, TokenSettings},
};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use crate::helpers::{TestTables, dead_database_client};

fn sample(name: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut event = crate::support::sample_event(name);
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// As under `cargo lambda watch`: no authorizer ran, the header carries the token.
fn bearer(token: &str) -> impl FnOnce(&mut Value) {
    let value = format!("JWT {token}");
    move |event| {
        event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        event["headers"]["authorization"] = json!(value);
    }
}

fn json_of(response: Response<Body>) -> (u16, Value) {
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap())
}

fn tokens() -> TokenService {
    let key = PrivateKey::from_pem(include_str!("../fixtures/test-only-rsa-1.pem")).unwrap();
    TokenService::new(&key, TokenSettings::default())
}

fn issuer() -> Issuer {
    let server = ServerSecret::new(b"integration-server-secret-0123456789-abcd").unwrap();
    Issuer::new(tokens(), RefreshSettings::default(), server)
}

/// `/auth`'s default per-source limit, counted in the test tables.
fn throttle(tables: &TestTables) -> Throttle<LoginAttemptTable> {
    Throttle { counters: tables.attempt_table(), limit: SourceLimit::default_for(Route::Auth) }
}

/// The sample login, as API Gateway would send it from `ip`, with `body`.
fn login_from(ip: &str, body: &str) -> Request {
    let (ip, body) = (ip.to_owned(), body.to_owned());
    sample("auth", move |e| {
        e["requestContext"]["http"]["sourceIp"] = json!(ip);
        e["body"] = json!(body);
    })
}

#[tokio::test]
async fn the_blog_client_flow_works_on_the_sample_events() {
    let Some(tables) = TestTables::new().await else { return };
    let (users, work, attempts, sessions) =
        (tables.user_table(), tables.work_table(), tables.attempt_table(), tables.refresh_table());
    let callers =
        Callers::Verify(Box::new(Authenticator::new(tokens(), tables.user_table(), tables.refresh_table())));

    let (status, body) = json_of(api::signup(&users, sample("signup", |_| {})).await.unwrap());
    assert_eq!((status, body), (201, json!({"Status": "Success", "result": "User created"})));

    let (status, body) = json_of(
        api::auth(&users, &attempts, &sessions, &throttle(&tables), &issuer(), sample("auth", |_| {}))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap().to_owned();

    let created = api::create_work(&work, &callers, sample("create-work", bearer(&token))).await.unwrap();
    let (status, body) = json_of(created);
    assert_eq!(status, 201);
    let id = body["result"]["id"].clone();

    let (status, body) =
        json_of(api::list_work(&work, &callers, sample("list-work", bearer(&token))).await.unwrap());
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["id"], id);
    assert_eq!(body["result"][0]["title"], "Write the quarterly report");
    assert_eq!(body["next"], Value::Null);
}

#[tokio::test]
async fn a_duplicate_signup_is_409_and_stores_one_user() {
    let Some(tables) = TestTables::new().await else { return };
    let users = tables.user_table();
    assert_eq!(api::signup(&users, sample("signup", |_| {})).await.unwrap().status(), 201);
    let shouting =
        sample("signup", |e| e["body"] = json!(r#"{"username":"JOE","password":"another password"}"#));
    let (status, body) = json_of(api::signup(&users, shouting).await.unwrap());
    assert_eq!((status, body), (409, json!({"Status": "Error", "result": "User already exists"})));
    assert_eq!(tables.count(&tables.users).await, 1);
}

#[tokio::test]
async fn rejected_requests_write_nothing() {
    let Some(tables) = TestTables::new().await else { return };
    let (users, work) = (tables.user_table(), tables.work_table());
    let oversized = sample("signup", |e| {
        e["body"] = json!(format!(r#"{{"username":"joe","password":"{}"}}"#, "x".repeat(17_000)))
    });
    assert_eq!(api::signup(&users, oversized).await.unwrap().status(), 413);
    let forged = sample("create-work", bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
    let callers =
        Callers::Verify(Box::new(Authenticator::new(tokens(), tables.user_table(), tables.refresh_table())));
    assert_eq!(api::create_work(&work, &callers, forged).await.unwrap().status(), 401);
    assert_eq!(tables.count(&tables.users).await, 0);
    assert_eq!(tables.count(&tables.work_items).await, 0);
}

#[tokio::test]
async fn a_dead_database_gives_503_with_retry_after() {
    let users = UserTable::new(dead_database_client().await, "users");
    let response = api::signup(&users, sample("signup", |_| {})).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = json_of(response);
    assert_eq!(status, 503);
    assert_eq!(body["Status"], "Error");
}

#[tokio::test]
async fn a_flood_from_one_network_leaves_another_networks_login_working() {
    let Some(tables) = TestTables::new().await else { return };
    let (users, attempts, sessions) = (tables.user_table(), tables.attempt_table(), tables.refresh_table());
    assert_eq!(api::signup(&users, sample("signup", |_| {})).await.unwrap().status(), 201);
    let limit = SourceLimit { route: Route::Auth, per_minute: 5 };
    let throttle = Throttle { counters: tables.attempt_table(), limit };
    // The count restarts each minute: start early enough in one that the test ends within it.
    if unix_now() % 60 > 40 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - unix_now() % 60)).await;
    }
    let issuer = issuer();
    let login = |request| api::auth(&users, &attempts, &sessions, &throttle, &issuer, request);
    let right = r#"{"username": "joe", "password": "correct horse battery staple"}"#;
    let floods = [("198.51.100.7", "198.51.100.7"), ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")];
    for (first, same_network) in floods {
        for n in 0..5 {
            // Guesses at many names, and bodies that are not even JSON: all count.
            let body = if n % 2 == 0 {
                format!(r#"{{"username": "user{n}", "password": "guess"}}"#)
            } else {
                "{".into()
            };
            let status = login(login_from(first, &body)).await.unwrap().status();
            assert!(status == 401 || status == 400, "{status}");
        }
        let refused = login(login_from(same_network, right)).await.unwrap();
        let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let (status, body) = json_of(refused);
        assert_eq!(
            (status, body["result"].as_str()),
            (429, Some("Too many requests from your network, retry later"))
        );
    }
    assert_eq!(tables.count(&tables.refresh).await, 0, "a refused login starts no session");
    for other in ["203.0.113.10", "2001:db8:1:3::1"] {
        assert_eq!(login(login_from(other, right)).await.unwrap().status(), 200, "{other}");
    }
}

#[tokio::test]
async fn a_user_imported_with_a_werkzeug_hash_logs_in_through_auth_and_is_moved_to_argon2id() {
    let Some(tables) = TestTables::new().await else { return };
    let (users, attempts, sessions) = (tables.user_table(), tables.attempt_table(), tables.refresh_table());
    // Werkzeug 3's generate_password_hash("correct horse battery staple", "pbkdf2:sha256:1000").
    let werkzeug = "pbkdf2:sha256:1000$sPwDtLHPo3tSqxEK$f601b9cd1db351901ca947f53b4cbbb82fad146925eaa2fdb99248ffe5004e29";
    let joe: auth_core::users::User = serde_json::from_value(json!({
        "username": "joe", "user_id": "3f1c2a9e-5b7d-4c8e-9a0b-1c2d3e4f5a6b", "created_at": "2020-01-02T03:04:05Z",
        "password_hash": auth_core::passwords::PasswordHash::import(werkzeug).unwrap(),
    }))
    .unwrap();
    auth_core::users::CreateUser::create_user(&users, &joe).await.unwrap();
    let wrong = login_from("203.0.113.10", r#"{"username": "joe", "password": "not the password"}"#);
    let response =
        api::auth(&users, &attempts, &sessions, &throttle(&tables), &issuer(), wrong).await.unwrap();
    assert_eq!(response.status(), 401);
    let right =
        login_from("203.0.113.10", r#"{"username": "joe", "password": "correct horse battery staple"}"#);
    let (status, body) =
        json_of(api::auth(&users, &attempts, &sessions, &throttle(&tables), &issuer(), right).await.unwrap());
    assert_eq!(status, 200, "{body}");
    let stored = auth_core::users::FindUser::find_user(&users, &joe.username).await.unwrap().unwrap();
    assert!(stored.password_hash.is_current(), "upgraded to today's argon2id at this login");
    assert_eq!(stored.user_id, joe.user_id, "the imported id is the token's subject");
    let claims = tokens().verify(body["access_token"].as_str().unwrap(), unix_now()).unwrap();
    assert_eq!(claims.sub, joe.user_id);
}
