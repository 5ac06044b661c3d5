//! Hostile requests against the running local stack (`cargo lambda watch` on DynamoDB Local,
//! started by `make test`). Every case asserts its status and that no table changed.

use std::collections::BTreeMap;

mod support;

use auth_core::keys::PrivateKey;
use aws_sdk_dynamodb::Client;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD as B64},
};
use reqwest::{Method, StatusCode};
use ring::{hmac, signature};
use serde_json::{Value, json};
use support::{Api, sample_event, unique};

/// The running API, its tables, and its signing key.
struct Stack {
    api: Api,
    db: Client,
    key: PrivateKey,
}

impl Stack {
    /// The stack `make test` started, or `None` when none runs.
    fn local() -> Option<Self> {
        let api = Api::local("the adversarial suite")?;
        Some(Self { api, db: Client::new(&support::sdk_config()), key: support::server_key() })
    }

    /// Every item of every table the API uses, as JSON with sorted keys, nested maps included:
    /// compared before and after a case.
    /// Every item of `tables`, but the per-network request counters: every request to `/auth`
    /// and `/refresh` counts, whatever it carries (see `throttle`).
    async fn snapshot(&self, tables: &[&str]) -> BTreeMap<String, Vec<String>> {
        let mut all = BTreeMap::new();
        for variable in tables {
            let table = std::env::var(variable).unwrap();
            let scan = self.db.scan().table_name(&table).send().await.unwrap();
            let mut items: Vec<String> = scan
                .items()
                .iter()
                .map(|item| serde_dynamo::from_item::<_, Value>(item.clone()).unwrap())
                .filter(|item| !item["username"].as_str().is_some_and(|key| key.starts_with("source#")))
                .map(|item| item.to_string())
                .collect();
            items.sort();
            all.insert(table, items);
        }
        all
    }

    async fn json(&self, path: &str, body: Value) -> Value {
        self.api.post(path, body, None).await.1
    }

    /// RS256 over arbitrary header and payload JSON text, with `key`.
    fn sign(&self, header: &str, payload: &str, key: &PrivateKey) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
        let pair = signature::RsaKeyPair::from_pkcs8(key.encoding().inner()).unwrap();
        let mut tag = vec![0; pair.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        pair.sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut tag).unwrap();
        format!("{input}.{}", B64.encode(tag))
    }
}

/// The cases compare whole tables, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ALL_TABLES: &[&str] =
    &["USERS_TABLE", "WORK_ITEMS_TABLE", "LOGIN_ATTEMPTS_TABLE", "REFRESH_TOKENS_TABLE"];
/// Failed logins are counted on purpose; everything else must stay as it was.
const ALL_BUT_ATTEMPTS: &[&str] = &["USERS_TABLE", "WORK_ITEMS_TABLE", "REFRESH_TOKENS_TABLE"];

/// `base` as JSON text with `changes` applied: a `null` removes the key, any other value sets it.
fn edited(base: &Value, changes: Value) -> String {
    let mut edited = base.clone();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            edited.as_object_mut().unwrap().remove(key);
        } else {
            edited[key] = value.clone();
        }
    }
    edited.to_string()
}

#[tokio::test]
async fn hostile_tokens_get_401_and_change_nothing() {
    let _serial = SERIAL.lock().await;
    let Some(stack) = Stack::local() else { return };
    let name = unique("target");
    stack.json("/signup", json!({"username": name, "password": "a fine password"})).await;
    let session = stack.json("/auth", json!({"username": name, "password": "a fine password"})).await;
    let access = session["access_token"].as_str().unwrap().to_owned();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let claims = support::token_part(&access, 1);
    let kid = stack.key.public().kid();
    let base_header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let header = |changes: Value| edited(&base_header, changes);
    let with = |changes: Value| edited(&claims, changes);
    let ours = |h: String, p: String| stack.sign(&h, &p, &stack.key);
    let parts: Vec<&str> = access.split('.').collect();

    // The crafting itself is sound: an unmodified re-signed token is accepted.
    let baseline = ours(header(json!({})), with(json!({})));
    let ok =
        stack.api.send(Method::GET, "/work", &[("authorization", &format!("Bearer {baseline}"))], None).await;
    assert_eq!(ok, StatusCode::OK, "baseline crafted token");

    let mut cases: Vec<(&str, String)> = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push(("alg none", format!("{}.{}.", B64.encode(header(json!({"alg": alg}))), parts[1])));
    }
    for alg in ["rs256", "RS384", "RS512", "PS256", "HS256", "ES256"] {
        cases.push(("foreign alg", ours(header(json!({"alg": alg})), with(json!({})))));
    }
    cases.push(("stripped signature", format!("{}.{}", parts[0], parts[1])));
    cases.push(("empty signature", format!("{}.{}.", parts[0], parts[1])));
    cases.push(("foreign signature", format!("{}.{}.{}", parts[0], parts[1], B64.encode([7u8; 256]))));
    cases.push((
        "tampered payload",
        format!("{}.{}.{}", parts[0], B64.encode(with(json!({"sub": "someone-else"}))), parts[2]),
    ));
    let attacker = PrivateKey::from_pem(include_str!("fixtures/test-only-rsa-3.pem")).unwrap();
    cases.push(("another key under our kid", stack.sign(&header(json!({})), &with(json!({})), &attacker)));
    // Algorithm confusion: HS256 keyed with our public key, which anyone can fetch.
    let public = serde_json::to_string(&stack.key.public().to_jwk()).unwrap();
    let input = format!("{}.{}", B64.encode(header(json!({"alg": "HS256"}))), B64.encode(with(json!({}))));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, public.as_bytes()), input.as_bytes());
    cases.push(("HS256 keyed with the public key", format!("{input}.{}", B64.encode(tag))));
    for kid in ["../../etc/passwd", "' OR '1'='1", "$(reboot)", "", "AAAAAAAAAAAAAAAA"] {
        cases.push(("kid injection", ours(header(json!({"kid": kid})), with(json!({})))));
    }
    cases.push(("jku", ours(header(json!({"jku": "https://evil.example/jwks"})), with(json!({})))));
    cases.push(("x5u", ours(header(json!({"x5u": "https://evil.example/cert"})), with(json!({})))));
    cases.push((
        "embedded jwk",
        stack.sign(&header(json!({"jwk": attacker.public().to_jwk()})), &with(json!({})), &attacker),
    ));
    cases.push(("crit", ours(header(json!({"crit": ["exp"]})), with(json!({})))));
    cases.push(("wrong typ", ours(header(json!({"typ": "refresh+jwt"})), with(json!({})))));
    cases.push(("plain JWT typ", ours(header(json!({"typ": "JWT"})), with(json!({})))));
    cases.push(("no typ", ours(header(json!({"typ": null})), with(json!({})))));
    for (claim, value) in [
        ("exp", Value::Null),
        ("exp", json!("9999999999")),
        ("exp", json!(true)),
        ("exp", json!(1_000)),
        ("exp", json!(u64::MAX)),
        ("nbf", json!(9_999_999_999u64)),
        ("nbf", json!("0")),
        ("aud", Value::Null),
        ("aud", json!("another-api")),
        ("aud", json!(42)),
        ("aud", json!("JWT-AUTH-API")),
        ("iss", Value::Null),
        ("iss", json!("evil")),
        ("iss", json!(["jwt-auth"])),
        ("iss", json!("JWT-AUTH")),
        ("sub", Value::Null),
        ("sub", json!(12345)),
        ("client_id", Value::Null),
        ("client_id", json!("another-client")),
        ("scope", json!(["admin"])),
        ("ver", json!(claims["ver"].as_u64().unwrap() + 1)),
    ] {
        cases.push(("claim", ours(header(json!({})), with(json!({ claim: value })))));
    }
    let payload = with(json!({}));
    let duplicated = format!("{},\"sub\":\"someone-else\"}}", &payload[..payload.len() - 1]);
    cases.push(("duplicate claim keys", ours(header(json!({})), duplicated)));
    let padded =
        format!("{}.{}.{}", URL_SAFE.encode(header(json!({}))), URL_SAFE.encode(with(json!({}))), parts[2]);
    cases.push(("padded base64", padded));
    let standard =
        format!("{}.{}.{}", STANDARD.encode(header(json!({}))), STANDARD.encode(with(json!({}))), parts[2]);
    cases.push(("standard base64", standard));
    cases.push(("four segments", format!("{access}.{}", parts[2])));
    cases.push(("8 KiB token", ours(header(json!({})), with(json!({"pad": "x".repeat(8 * 1024)})))));
    cases.push(("64 KiB token", ours(header(json!({})), with(json!({"pad": "x".repeat(64 * 1024)})))));
    cases.push(("refresh token as access token", refresh.clone()));

    let before = stack.snapshot(ALL_TABLES).await;
    let mut checked = 0;
    for (what, token) in &cases {
        for (method, body) in [(Method::GET, None), (Method::POST, Some(br#"{"title":"sneaky"}"#.to_vec()))] {
            let headers =
                [("authorization", format!("Bearer {token}")), ("content-type", "application/json".into())];
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let status = stack.api.send(method.clone(), "/work", &headers, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {method} /work");
            checked += 1;
        }
    }
    for (what, headers) in [
        ("surrounding whitespace", vec![("authorization", format!("Bearer  {access} "))]),
        // Two Authorization headers: API Gateway joins them with ", ", which the authorizer refuses
        // (see its unit tests); the local emulator keeps only the first, so they are not sent here.
        ("no scheme", vec![("authorization", access.clone())]),
        ("Basic scheme", vec![("authorization", format!("Basic {access}"))]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            stack.api.send(Method::GET, "/work", &headers, None).await,
            StatusCode::UNAUTHORIZED,
            "{what}"
        );
        checked += 1;
    }
    let capitals =
        stack.api.send(Method::GET, "/work", &[("AUTHORIZATION", &format!("JWT {access}"))], None).await;
    assert_eq!(capitals, StatusCode::OK, "header names are case-insensitive");
    let access_as_refresh = stack
        .api
        .send(
            Method::POST,
            "/refresh",
            &[("content-type", "application/json")],
            Some(json!({"refresh_token": access}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(access_as_refresh, StatusCode::UNAUTHORIZED, "an access token used as a refresh token");
    assert_eq!(stack.snapshot(ALL_TABLES).await, before, "no table changed");
    println!("token cases: {} rejected requests", checked + 1);
}

#[tokio::test]
async fn hostile_signups_and_logins_get_precise_errors_and_store_nothing() {
    let _serial = SERIAL.lock().await;
    let Some(stack) = Stack::local() else { return };
    let taken = unique("taken");
    let post = |path: &'static str, body: Vec<u8>, content_type: &'static str| {
        let stack = &stack;
        async move { stack.api.send(Method::POST, path, &[("content-type", content_type)], Some(body)).await }
    };
    assert_eq!(
        post(
            "/signup",
            json!({"username": taken, "password": "a fine password"}).to_string().into_bytes(),
            "application/json"
        )
        .await,
        StatusCode::CREATED
    );
    let long = "p".repeat(73);
    assert_eq!(
        post(
            "/signup",
            json!({"username": format!("{taken}x"), "password": long}).to_string().into_bytes(),
            "application/json"
        )
        .await,
        StatusCode::CREATED
    );

    let signup = |username: Value, password: Value| {
        json!({"username": username, "password": password}).to_string().into_bytes()
    };
    let mut cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        (
            "duplicate name",
            signup(json!(taken), json!("another password")),
            "application/json",
            StatusCode::CONFLICT,
        ),
        (
            "case variant",
            signup(json!(taken.to_uppercase()), json!("another password")),
            "application/json",
            StatusCode::CONFLICT,
        ),
        (
            "7-character password",
            signup(json!(unique("p7")), json!("Zq8#kP2")),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "1025-character password",
            signup(json!(unique("p1025")), json!("x".repeat(1025))),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("wrong types", signup(json!(42), json!(["a"])), "application/json", StatusCode::BAD_REQUEST),
        (
            "missing field",
            json!({"username": unique("m")}).to_string().into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "duplicate JSON keys",
            format!(
                r#"{{"username":"{}","username":"{}","password":"a fine password"}}"#,
                unique("d1"),
                unique("d2")
            )
            .into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("malformed JSON", b"{\"username\":".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (
            "wrong content type",
            signup(json!(unique("ct")), json!("a fine password")),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "form encoding",
            b"username=joe&password=secret123".to_vec(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("1 MiB body", vec![b' '; 1024 * 1024], "application/json", StatusCode::PAYLOAD_TOO_LARGE),
        (
            "common password",
            signup(json!(unique("c")), json!("password123")),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, name) in [
        ("zero-width space", "jo\u{200b}hn"),
        ("control character", "jo\u{7}hn"),
        ("right-to-left override", "jo\u{202e}nh"),
        ("non-ASCII letter", "jöhn"),
        ("fullwidth letters", "ｊｏｈｎ"),
        ("space", "jo hn"),
        ("too short", "jo"),
    ] {
        cases.push((
            what,
            signup(json!(name), json!("a fine password")),
            "application/json",
            StatusCode::BAD_REQUEST,
        ));
    }
    let before = stack.snapshot(ALL_TABLES).await;
    for (what, body, content_type, expected) in &cases {
        assert_eq!(post("/signup", body.clone(), content_type).await, *expected, "signup: {what}");
    }
    assert_eq!(stack.snapshot(ALL_TABLES).await, before, "no table changed");

    // Boundary passwords are accepted (each creates its own user).
    for length in [8, 64, 1024] {
        let body = signup(json!(unique(&format!("len{length}"))), json!("k".repeat(length - 1) + "!"));
        assert_eq!(
            post("/signup", body, "application/json").await,
            StatusCode::CREATED,
            "{length} characters"
        );
    }

    // Logins: failures are counted (by design) but nothing else is written.
    let before = stack.snapshot(ALL_BUT_ATTEMPTS).await;
    let login = |username: &str, password: &str| {
        json!({"username": username, "password": password}).to_string().into_bytes()
    };
    for (what, body, expected) in [
        (
            "72-byte prefix of a 73-byte password",
            login(&format!("{taken}x"), &long[..72]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "extra fields ignored",
            json!({"username": taken, "password": "wrong one", "admin": true}).to_string().into_bytes(),
            StatusCode::UNAUTHORIZED,
        ),
        ("non-ASCII name", login("jöhn", "a fine password"), StatusCode::UNAUTHORIZED),
        (
            "wrong types",
            json!({"username": 1, "password": 2}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(post("/auth", body, "application/json").await, expected, "auth: {what}");
    }
    assert_eq!(stack.snapshot(ALL_BUT_ATTEMPTS).await, before, "only failure counters changed");
    println!("signup/auth cases: {}", cases.len() + 3 + 4);
}

/// Sends `event` to one function through the emulator's Lambda Invoke endpoint, as API Gateway
/// would, and returns the function's JSON result.
async fn invoke(stack: &Stack, function: &str, event: &Value) -> Value {
    let (status, result) = stack.api.invoke(function, event).await;
    assert!(status.is_success(), "invoke {function}: {status}");
    result
}

/// Shapes that API Gateway delivers but the local HTTP emulator cannot produce (a non-UTF-8 body,
/// repeated `Authorization` headers joined with ", "), invoked directly with real events.
#[tokio::test]
async fn gateway_only_shapes_are_refused_and_change_nothing() {
    let _serial = SERIAL.lock().await;
    let Some(stack) = Stack::local() else { return };
    let name = unique("joined");
    stack.json("/signup", json!({"username": name, "password": "a fine password"})).await;
    let session = stack.json("/auth", json!({"username": name, "password": "a fine password"})).await;
    let access = format!("JWT {}", session["access_token"].as_str().unwrap());
    let joined = format!("{access}, {access}");
    let before = stack.snapshot(ALL_TABLES).await;

    // Invalid UTF-8 arrives base64-encoded, as API Gateway sends any non-text body.
    let mut signup = sample_event("signup");
    let invalid =
        [br#"{"username":"bad"#.as_slice(), b"\xff\xfe", br#"","password":"a fine password"}"#].concat();
    signup["body"] = json!(STANDARD.encode(&invalid));
    signup["isBase64Encoded"] = json!(true);
    let response = invoke(&stack, "signup", &signup).await;
    assert_eq!(response["statusCode"], 400, "invalid UTF-8: {response}");
    let error: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(error["Status"], "Error", "the JSON error envelope: {error}");

    // The authorizer: one valid token is allowed, the same token twice is not.
    let mut authorize = sample_event("authorizer");
    authorize["identitySource"] = json!([access]);
    authorize["headers"]["authorization"] = json!(access);
    assert_eq!(invoke(&stack, "authorizer", &authorize).await["isAuthorized"], true, "baseline");
    authorize["identitySource"] = json!([joined]);
    authorize["headers"]["authorization"] = json!(joined);
    let denied = invoke(&stack, "authorizer", &authorize).await;
    assert_eq!(denied["isAuthorized"], false, "two Authorization headers: {denied}");

    // And the protected functions' own check, which runs where no authorizer does.
    for function in ["list-work", "create-work"] {
        let mut event = sample_event(function);
        event["headers"]["authorization"] = json!(joined);
        if let Some(context) = event["requestContext"].as_object_mut() {
            context.remove("authorizer");
        }
        let response = invoke(&stack, function, &event).await;
        assert_eq!(response["statusCode"], 401, "{function} with two Authorization headers: {response}");
    }
    assert_eq!(stack.snapshot(ALL_TABLES).await, before, "no table changed");
}
