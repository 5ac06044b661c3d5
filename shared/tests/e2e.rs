//! The blog's client flow over HTTP, through `cargo lambda watch` on DynamoDB Local.
//!
//! `make test` starts both and sets `E2E_BASE_URL` and the server's `JWT_PRIVATE_KEY`.

mod support;

use auth_core::{clock::unix_now, config::Config, keys::PrivateKey, tokens::TokenService};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Api, server_tokens, unique};

const SUITE: &str = "the end-to-end suite";

#[tokio::test]
async fn the_blog_client_flow_works_end_to_end() {
    let Some(api) = Api::local(SUITE) else { return };
    let (alice, bob) = (unique("alice"), unique("bob"));
    assert_eq!(api.signup(&alice, "correct horse battery").await, StatusCode::CREATED);
    assert_eq!(api.signup(&alice.to_uppercase(), "another password").await, StatusCode::CONFLICT);
    assert_eq!(api.signup(&bob, "bobs password!").await, StatusCode::CREATED);

    let token = api.token(&alice.to_uppercase(), "correct horse battery").await;
    let (status, body) = api.post("/work", json!({"title": "Ship it"}), Some(&format!("JWT {token}"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["result"]["id"].clone();

    for scheme in ["JWT", "Bearer"] {
        let (status, body) = api.get("/work", Some(&format!("{scheme} {token}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["Status"], "Success");
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        assert_eq!(body["result"][0]["id"], id);
    }

    let bobs_token = api.token(&bob, "bobs password!").await;
    let (status, body) = api.get("/work?limit=100", Some(&format!("Bearer {bobs_token}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"], json!([]), "bob sees none of alice's items");
}

#[tokio::test]
async fn failed_logins_look_the_same_for_wrong_passwords_and_unknown_users() {
    let Some(api) = Api::local(SUITE) else { return };
    let carol = unique("carol");
    assert_eq!(api.signup(&carol, "carols password").await, StatusCode::CREATED);
    let wrong = api.post("/auth", json!({"username": carol, "password": "not her password"}), None).await;
    let unknown =
        api.post("/auth", json!({"username": unique("nobody"), "password": "carols password"}), None).await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn forged_tampered_expired_and_unsigned_tokens_get_401() {
    let Some(api) = Api::local(SUITE) else { return };
    let dave = unique("dave");
    assert_eq!(api.signup(&dave, "daves password").await, StatusCode::CREATED);
    let genuine = api.token(&dave, "daves password").await;
    let parts: Vec<&str> = genuine.split('.').collect();

    let other_key = PrivateKey::from_pem(include_str!("fixtures/test-only-rsa-3.pem")).unwrap();
    let forged = TokenService::new(&other_key, Config::from_process().tokens().unwrap());
    let forged = forged
        .issue("01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D", &dave, 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "", unix_now())
        .unwrap()
        .token;

    let mut claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
    let unsigned = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
    let expired = server_tokens()
        .issue("01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D", &dave, 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "", unix_now() - 3600)
        .unwrap()
        .token;

    for (name, token) in
        [("forged", forged), ("tampered", tampered), ("alg none", unsigned), ("expired", expired)]
    {
        let (status, body) = api.get("/work", Some(&format!("JWT {token}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["Status"], "Error");
        let (status, _) =
            api.post("/work", json!({"title": "sneaky"}), Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(api.get("/work", None).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = api.get("/work", Some(&format!("JWT {genuine}"))).await;
    assert_eq!((status, body["result"].clone()), (StatusCode::OK, json!([])), "nothing was written");
}

#[tokio::test]
async fn bad_requests_get_precise_json_errors() {
    let Some(api) = Api::local(SUITE) else { return };
    let url = format!("{}/signup", api.base);
    let send = |body: Vec<u8>, content_type: &'static str| {
        let request = api.http.post(&url).header("content-type", content_type).body(body);
        async move { support::read(request.send().await.unwrap()).await }
    };
    assert_eq!(send(b"{nope".to_vec(), "application/json").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        send(br#"{"username":1,"password":2}"#.to_vec(), "application/json").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(b"username=joe".to_vec(), "application/x-www-form-urlencoded").await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (status, body) = send(vec![b' '; 64 * 1024], "application/json").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["Status"], "Error");
}

#[tokio::test]
async fn twenty_concurrent_signups_for_one_name_create_exactly_one_user() {
    let Some(api) = Api::local(SUITE).map(std::sync::Arc::new) else { return };
    let name = unique("racer");
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (api, name) = (api.clone(), name.clone());
            tokio::spawn(async move { api.signup(&name, "racing password").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn five_failed_logins_lock_real_and_unknown_names_alike() {
    let Some(api) = Api::local(SUITE) else { return };
    let (erin, ghost) = (unique("erin"), unique("ghost"));
    assert_eq!(api.signup(&erin, "erins password").await, StatusCode::CREATED);
    for _ in 0..5 {
        for name in [&erin, &ghost] {
            let (status, _) =
                api.post("/auth", json!({"username": name, "password": "wrong guess"}), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    let real = api.post("/auth", json!({"username": erin, "password": "erins password"}), None).await;
    let unknown = api.post("/auth", json!({"username": ghost, "password": "erins password"}), None).await;
    assert_eq!(real.0, StatusCode::TOO_MANY_REQUESTS, "{}", real.1);
    assert_eq!(real, unknown);
}

#[tokio::test]
async fn a_common_password_is_refused_at_signup() {
    let Some(api) = Api::local(SUITE) else { return };
    let (status, body) =
        api.post("/signup", json!({"username": unique("frank"), "password": "iloveyou"}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_stolen_one_burns_its_family() {
    let Some(api) = Api::local(SUITE) else { return };
    let gina = unique("gina");
    assert_eq!(api.signup(&gina, "ginas password").await, StatusCode::CREATED);
    let login = api.session(&gina, "ginas password").await;

    let (status, rotated) = api.refresh(&login["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, retried) = api.refresh(&login["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "a retry inside the grace window");
    assert_eq!(retried["refresh_token"], rotated["refresh_token"]);
    let (status, _) =
        api.get("/work", Some(&format!("JWT {}", rotated["access_token"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await; // past the 1 s test grace
    assert_eq!(api.refresh(&login["refresh_token"]).await.0, StatusCode::UNAUTHORIZED, "reuse");
    assert_eq!(api.refresh(&rotated["refresh_token"]).await.0, StatusCode::UNAUTHORIZED, "family revoked");
}

#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_token_yield_one_child() {
    let Some(api) = Api::local(SUITE).map(std::sync::Arc::new) else { return };
    let hana = unique("hana");
    assert_eq!(api.signup(&hana, "hanas password").await, StatusCode::CREATED);
    let token = api.session(&hana, "hanas password").await["refresh_token"].clone();
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (api, token) = (api.clone(), token.clone());
            tokio::spawn(async move { api.refresh(&token).await })
        })
        .collect();
    let mut children = std::collections::HashSet::new();
    for attempt in attempts {
        let (status, body) = attempt.await.unwrap();
        if status == StatusCode::OK {
            children.insert(body["refresh_token"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
    }
    assert_eq!(children.len(), 1, "every successful refresh returned the same child");
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_ends_every_token() {
    let Some(api) = Api::local(SUITE) else { return };
    let ivan = unique("ivan");
    assert_eq!(api.signup(&ivan, "ivans password").await, StatusCode::CREATED);
    let (phone, laptop) =
        (api.session(&ivan, "ivans password").await, api.session(&ivan, "ivans password").await);

    let one = json!({"refresh_token": phone["refresh_token"]});
    assert_eq!(api.logout(&phone["access_token"], one).await, StatusCode::NO_CONTENT);
    assert_eq!(api.refresh(&phone["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
    let (status, laptop) = api.refresh(&laptop["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "the other session lives");

    assert_eq!(api.logout(&laptop["access_token"], json!({"all": true})).await, StatusCode::NO_CONTENT);
    assert_eq!(api.refresh(&laptop["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
    for token in [&phone["access_token"], &laptop["access_token"]] {
        let (status, _) = api.get("/work", Some(&format!("JWT {}", token.as_str().unwrap()))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "access tokens are revoked too");
    }
    let fresh = api.session(&ivan, "ivans password").await;
    let (status, _) =
        api.get("/work", Some(&format!("JWT {}", fresh["access_token"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::OK, "a new login works");
}

/// `GET /work` with `access_token` as a bearer token: only the status.
async fn work_status(api: &Api, access_token: &Value) -> StatusCode {
    api.get("/work", Some(&format!("Bearer {}", access_token.as_str().unwrap()))).await.0
}

/// A request with `access_token` as a bearer token and no body.
async fn with_token(api: &Api, method: Method, path: &str, access_token: &Value) -> (StatusCode, Value) {
    let (status, _, body) =
        api.call(method, path, Some(&format!("Bearer {}", access_token.as_str().unwrap())), None).await;
    (status, body)
}

#[tokio::test]
async fn an_ended_session_loses_its_access_tokens_everywhere_and_the_others_keep_theirs() {
    let Some(api) = Api::local(SUITE) else { return };
    let kim = unique("kim");
    assert_eq!(api.signup(&kim, "kims password").await, StatusCode::CREATED);
    let [phone, laptop, tablet, watch] = [(); 4].map(|_| api.session(&kim, "kims password"));
    let (phone, laptop, tablet, watch) = (phone.await, laptop.await, tablet.await, watch.await);

    // One session, by its refresh token: the authorizer and the local check both refuse it.
    let one = json!({"refresh_token": phone["refresh_token"]});
    assert_eq!(api.logout(&laptop["access_token"], one).await, StatusCode::NO_CONTENT);
    assert_eq!(work_status(&api, &phone["access_token"]).await, StatusCode::UNAUTHORIZED);
    let (status, decision) = api.authorize(phone["access_token"].as_str().unwrap()).await;
    assert_eq!((status, &decision["isAuthorized"]), (StatusCode::OK, &json!(false)), "{decision}");
    let (_, decision) = api.authorize(laptop["access_token"].as_str().unwrap()).await;
    assert_eq!(decision["isAuthorized"], true, "the others are untouched: {decision}");
    assert_eq!(decision["context"]["sid"], sid_of(&laptop), "{decision}");

    // The list shows the live ones, the caller's marked; one of them ended by its id.
    let (status, listed) = with_token(&api, Method::GET, "/sessions", &laptop["access_token"]).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let listed = listed["result"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);
    let tablet_id = listed.iter().find(|s| s["id"] == sid_of(&tablet)).unwrap()["id"].clone();
    let path = format!("/sessions/{}", tablet_id.as_str().unwrap());
    assert_eq!(
        with_token(&api, Method::DELETE, &path, &laptop["access_token"]).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(work_status(&api, &tablet["access_token"]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(api.refresh(&tablet["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
    let (status, again) = with_token(&api, Method::DELETE, &path, &laptop["access_token"]).await;
    assert_eq!((status, again["result"].as_str()), (StatusCode::NOT_FOUND, Some("No such session")));

    // Every other session at once: the caller's own stays.
    assert_eq!(
        with_token(&api, Method::DELETE, "/sessions", &laptop["access_token"]).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(work_status(&api, &watch["access_token"]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(work_status(&api, &laptop["access_token"]).await, StatusCode::OK);
    assert_eq!(api.refresh(&laptop["refresh_token"]).await.0, StatusCode::OK);
}

/// The session id in a session body's access token.
fn sid_of(session: &Value) -> Value {
    support::token_part(session["access_token"].as_str().unwrap(), 1)["sid"].clone()
}

#[tokio::test]
async fn someone_elses_session_id_gets_the_answer_an_unknown_one_gets() {
    let Some(api) = Api::local(SUITE) else { return };
    let (lee, max) = (unique("lee"), unique("max"));
    for name in [&lee, &max] {
        assert_eq!(api.signup(name, "a fine password").await, StatusCode::CREATED);
    }
    let (lees, maxs) =
        (api.session(&lee, "a fine password").await, api.session(&max, "a fine password").await);
    let foreign = format!("/sessions/{}", sid_of(&lees).as_str().unwrap());
    let unknown = format!("/sessions/{}", ulid::Ulid::new());
    let foreign = with_token(&api, Method::DELETE, &foreign, &maxs["access_token"]).await;
    let unknown = with_token(&api, Method::DELETE, &unknown, &maxs["access_token"]).await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, unknown);
    assert_eq!(work_status(&api, &lees["access_token"]).await, StatusCode::OK, "lee's session lives");
}

#[tokio::test]
async fn a_stolen_refresh_token_reused_ends_the_access_tokens_of_its_session() {
    let Some(api) = Api::local(SUITE) else { return };
    let ned = unique("ned");
    assert_eq!(api.signup(&ned, "neds password").await, StatusCode::CREATED);
    let login = api.session(&ned, "neds password").await;
    let other = api.session(&ned, "neds password").await;
    let (status, rotated) = api.refresh(&login["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await; // past the 1 s test grace
    assert_eq!(api.refresh(&login["refresh_token"]).await.0, StatusCode::UNAUTHORIZED, "reuse");
    for token in [&login["access_token"], &rotated["access_token"]] {
        assert_eq!(work_status(&api, token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(work_status(&api, &other["access_token"]).await, StatusCode::OK, "the other session lives");
}

#[tokio::test]
async fn the_blogs_workitems_route_lists_what_work_lists() {
    let Some(api) = Api::local(SUITE) else { return };
    let olga = unique("olga");
    assert_eq!(api.signup(&olga, "olgas password").await, StatusCode::CREATED);
    let token = format!("JWT {}", api.token(&olga, "olgas password").await);
    assert_eq!(api.post("/work", json!({"title": "one"}), Some(&token)).await.0, StatusCode::CREATED);
    let (status, work) = api.get("/work", Some(&token)).await;
    let (alias_status, workitems) = api.get("/workitems", Some(&token)).await;
    assert_eq!((status, alias_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(work, workitems);
    assert_eq!(api.get("/workitems", None).await.0, StatusCode::UNAUTHORIZED);
}

/// A request with `access_token` as a bearer token and a JSON body: status and body.
async fn send_as(
    api: &Api,
    method: Method,
    path: &str,
    access_token: &Value,
    body: Value,
) -> (StatusCode, Value) {
    let (status, _, body) =
        api.call(method, path, Some(&format!("Bearer {}", access_token.as_str().unwrap())), Some(body)).await;
    (status, body)
}

async fn change_password(api: &Api, access_token: &Value, current: &str, new: &str) -> (StatusCode, Value) {
    let body = json!({"current_password": current, "new_password": new});
    send_as(api, Method::POST, "/password", access_token, body).await
}

async fn delete_account(api: &Api, access_token: &Value, password: &str) -> StatusCode {
    send_as(api, Method::DELETE, "/account", access_token, json!({ "password": password })).await.0
}

/// The users table the running API uses, as `make test` configured it.
fn users_table() -> auth_core::dynamodb::UserTable {
    let config = Config::from_process();
    auth_core::dynamodb::UserTable::new(
        auth_core::wiring::aws(&config).dynamodb(),
        config.users_table().unwrap(),
    )
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_keeps_this_device_signed_in() {
    let Some(api) = Api::local(SUITE) else { return };
    let pia = unique("pia");
    assert_eq!(api.signup(&pia, "pias first password").await, StatusCode::CREATED);
    let (phone, laptop) =
        (api.session(&pia, "pias first password").await, api.session(&pia, "pias first password").await);
    let (status, _) =
        change_password(&api, &laptop["access_token"], "pias first password", "pias first password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the same password again");
    let (status, body) =
        change_password(&api, &laptop["access_token"], "not her password", "pias second password").await;
    assert_eq!((status, body["result"].as_str()), (StatusCode::FORBIDDEN, Some("Password is incorrect")));

    let (status, fresh) =
        change_password(&api, &laptop["access_token"], "pias first password", "pias second password").await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    for old in [&phone, &laptop] {
        assert_eq!(work_status(&api, &old["access_token"]).await, StatusCode::UNAUTHORIZED);
        assert_eq!(api.refresh(&old["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
        let (_, decision) = api.authorize(old["access_token"].as_str().unwrap()).await;
        assert_eq!(decision["isAuthorized"], false, "the authorizer refuses it too: {decision}");
    }
    assert_eq!(work_status(&api, &fresh["access_token"]).await, StatusCode::OK);
    assert_eq!(api.refresh(&fresh["refresh_token"]).await.0, StatusCode::OK);
    let old = api.post("/auth", json!({"username": pia, "password": "pias first password"}), None).await;
    assert_eq!(old.0, StatusCode::UNAUTHORIZED);
    api.session(&pia, "pias second password").await;
}

#[tokio::test]
async fn guessing_through_password_change_meets_the_login_lockout() {
    let Some(api) = Api::local(SUITE) else { return };
    let quinn = unique("quinn");
    assert_eq!(api.signup(&quinn, "quinns password").await, StatusCode::CREATED);
    let stolen = api.session(&quinn, "quinns password").await;
    for guess in 0..5 {
        let (status, _) =
            change_password(&api, &stolen["access_token"], &format!("guess {guess}"), "a new password!")
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) =
        change_password(&api, &stolen["access_token"], "quinns password", "a new password!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "locked, the right one is not even checked");
    assert_eq!(
        delete_account(&api, &stolen["access_token"], "quinns password").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let login = api.post("/auth", json!({"username": quinn, "password": "quinns password"}), None).await;
    assert_eq!(login.0, StatusCode::TOO_MANY_REQUESTS, "one lockout for every password check");
}

#[tokio::test]
async fn a_login_moves_an_outdated_hash_to_argon2id_with_todays_parameters() {
    use argon2::{
        Argon2, PasswordHasher,
        password_hash::{SaltString, rand_core::OsRng},
    };
    use auth_core::users::{FindUser, Sessions, SetPasswordHash, Username};
    let Some(api) = Api::local(SUITE) else { return };
    let rae = unique("rae");
    assert_eq!(api.signup(&rae, "raes password").await, StatusCode::CREATED);
    let users = users_table();
    let name = Username::parse(&rae).unwrap();
    let user = users.find_user(&name).await.unwrap().unwrap();
    let weaker = Argon2::new(
        argon2::Algorithm::Argon2i,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 3, 1, None).unwrap(),
    );
    let outdated =
        weaker.hash_password(b"raes password", &SaltString::generate(&mut OsRng)).unwrap().to_string();
    let outdated = serde_json::from_value(json!(outdated)).unwrap();
    assert_eq!(users.set_password_hash(&user, &outdated, Sessions::Keep).await.unwrap(), Some(0));

    let before = api.session(&rae, "raes password").await;
    let upgraded = users.find_user(&name).await.unwrap().unwrap();
    assert!(upgraded.password_hash.is_current(), "{:?}", upgraded.password_hash);
    assert_eq!(upgraded.token_version, user.token_version, "no session ended");
    assert_eq!(work_status(&api, &before["access_token"]).await, StatusCode::OK);
    api.session(&rae, "raes password").await;
    assert!(users.find_user(&name).await.unwrap().unwrap().password_hash == upgraded.password_hash);
}

#[tokio::test]
async fn the_export_holds_the_callers_data_and_never_a_hash() {
    let Some(api) = Api::local(SUITE) else { return };
    let sam = unique("sam");
    assert_eq!(api.signup(&sam, "sams password").await, StatusCode::CREATED);
    let login = api.session(&sam, "sams password").await;
    let token = format!("Bearer {}", login["access_token"].as_str().unwrap());
    assert_eq!(api.post("/work", json!({"title": "export me"}), Some(&token)).await.0, StatusCode::CREATED);
    let (status, body) = api.get("/account", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let export = &body["result"];
    assert_eq!(export["username"], sam.as_str());
    assert_eq!(export["sessions"][0]["current"], true);
    assert_eq!(export["work_items"][0]["title"], "export me");
    assert!(!body.to_string().contains("argon2"), "{body}");
    assert_eq!(api.get("/account", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_account_leaves_nothing_a_new_account_of_its_name_could_inherit() {
    let Some(api) = Api::local(SUITE) else { return };
    let tess = unique("tess");
    assert_eq!(api.signup(&tess, "tess password!").await, StatusCode::CREATED);
    let (phone, laptop) =
        (api.session(&tess, "tess password!").await, api.session(&tess, "tess password!").await);
    let token = format!("Bearer {}", laptop["access_token"].as_str().unwrap());
    for title in ["one", "two"] {
        assert_eq!(api.post("/work", json!({ "title": title }), Some(&token)).await.0, StatusCode::CREATED);
    }
    assert_eq!(
        delete_account(&api, &laptop["access_token"], "not her password").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(delete_account(&api, &laptop["access_token"], "tess password!").await, StatusCode::NO_CONTENT);

    for old in [&phone, &laptop] {
        assert_eq!(work_status(&api, &old["access_token"]).await, StatusCode::UNAUTHORIZED);
        assert_eq!(api.refresh(&old["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        delete_account(&api, &laptop["access_token"], "tess password!").await,
        StatusCode::UNAUTHORIZED,
        "twice"
    );
    let gone = api.post("/auth", json!({"username": tess, "password": "tess password!"}), None).await;
    assert_eq!(gone.0, StatusCode::UNAUTHORIZED);

    assert_eq!(api.signup(&tess, "a new tess password").await, StatusCode::CREATED, "the name is free");
    let new = api.session(&tess, "a new tess password").await;
    let (status, export) =
        api.get("/account", Some(&format!("Bearer {}", new["access_token"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export["result"]["work_items"], json!([]), "no item of the old account");
    assert_eq!(export["result"]["sessions"].as_array().unwrap().len(), 1, "no session of the old account");
    for old in [&phone, &laptop] {
        assert_eq!(
            work_status(&api, &old["access_token"]).await,
            StatusCode::UNAUTHORIZED,
            "not for the new one either"
        );
        let (_, decision) = api.authorize(old["access_token"].as_str().unwrap()).await;
        assert_eq!(decision["isAuthorized"], false, "{decision}");
    }
}

#[tokio::test]
async fn deleting_while_another_device_refreshes_leaves_that_device_signed_out() {
    let Some(api) = Api::local(SUITE) else { return };
    let uma = unique("uma");
    assert_eq!(api.signup(&uma, "umas password").await, StatusCode::CREATED);
    let (phone, laptop) =
        (api.session(&uma, "umas password").await, api.session(&uma, "umas password").await);
    let refreshing = {
        let api = Api::local(SUITE).unwrap();
        tokio::spawn(async move {
            let mut latest = phone;
            for _ in 0..300 {
                let (status, next) = api.refresh(&latest["refresh_token"]).await;
                if status != StatusCode::OK {
                    break;
                }
                latest = next;
            }
            latest
        })
    };
    assert_eq!(delete_account(&api, &laptop["access_token"], "umas password").await, StatusCode::NO_CONTENT);
    let latest = refreshing.await.unwrap();
    assert_eq!(api.refresh(&latest["refresh_token"]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(work_status(&api, &latest["access_token"]).await, StatusCode::UNAUTHORIZED);
}

/// `GET /reports` (the worked example, `examples/reports`) needs the `reports:read` scope: a
/// token without it is refused there with RFC 6750's `insufficient_scope`, even right after it
/// was allowed on `/work`, and even with the authorizer's decision for it reused, as API Gateway
/// reuses a cached decision on every route. Given the role, the next login's token has it.
#[tokio::test]
async fn a_scope_is_required_by_the_route_that_needs_it_even_right_after_the_token_was_allowed_elsewhere() {
    use auth_core::{
        dynamodb::UserTable,
        users::{ManageUsers, Role, Username},
    };
    let Some(api) = Api::local(SUITE) else { return };
    let name = unique("scoped");
    assert_eq!(api.signup(&name, "a fine password").await, StatusCode::CREATED);
    let token = api.token(&name, "a fine password").await;
    let bearer = format!("Bearer {token}");
    assert_eq!(api.get("/work", Some(&bearer)).await.0, StatusCode::OK, "allowed on /work");
    let response =
        api.http.get(format!("{}/reports", api.base)).header("authorization", &bearer).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="reports:read""#
    );

    let (status, decision) = api.authorize(&token).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_eq!(
        (decision["isAuthorized"].as_bool(), decision["context"]["scope"].as_str()),
        (Some(true), Some(""))
    );
    let mut event = support::sample_event("reports");
    event["headers"]["authorization"] = json!(bearer);
    event["requestContext"]["authorizer"] = json!({"lambda": decision["context"]});
    let (status, reused) = api.invoke("example-reports", &event).await;
    assert_eq!(status, StatusCode::OK, "{reused}");
    assert_eq!(reused["statusCode"], 403, "the cached allow carries no scope: {reused}");

    let users = UserTable::new(
        aws_sdk_dynamodb::Client::new(&support::sdk_config()),
        Config::from_process().users_table().unwrap(),
    );
    let roles = [Role::parse("reports:read").unwrap()];
    users.set_roles(&Username::parse(&name).unwrap(), &roles).await.unwrap().expect("the user");
    let granted = api.token(&name, "a fine password").await;
    assert_eq!(support::token_part(&granted, 1)["scope"], "reports:read");
    let (status, body) = api.get("/reports", Some(&format!("JWT {granted}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["for"], name.as_str());
    let (_, decision) = api.authorize(&granted).await;
    assert_eq!(decision["context"]["scope"], "reports:read", "the authorizer passes the scope on");
}
