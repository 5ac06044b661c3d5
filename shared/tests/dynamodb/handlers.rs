//! The handlers on the sample events in `events/`, against real tables.

use auth_core::{
    api::{self, Callers, Issuer},
    dynamodb::UserTable,
    identity::Authenticator,
    keys::{ServerSecret, SigningSecret},
    refresh::RefreshSettings,
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

const SECRET: &[u8] = b"integration-secret-0123456789-abcdefghij";

fn tokens() -> TokenService {
    TokenService::new(&SigningSecret::new(SECRET.to_vec()).unwrap(), TokenSettings::default())
}

fn issuer() -> Issuer {
    let server = ServerSecret::new(b"integration-server-secret-0123456789-abcd").unwrap();
    Issuer::new(tokens(), RefreshSettings::default(), server)
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

    let (status, body) =
        json_of(api::auth(&users, &attempts, &sessions, &issuer(), sample("auth", |_| {})).await.unwrap());
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
