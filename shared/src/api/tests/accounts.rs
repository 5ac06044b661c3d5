//! `POST /password`, `GET /account`, `DELETE /account` and the hash upgrade at login, on the
//! sample events with the fake store.

use argon2::{
    Algorithm, Argon2, Params, PasswordHasher, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

use super::*;
use crate::{
    audit::Audit,
    erasure::{EraseAccount, Erased},
    passwords::{self, Password, PasswordHash},
    users::{Account, User},
};

const CHANGE_PASSWORD: &str = include_str!("../../../../events/change-password.json");
const DELETE_ACCOUNT: &str = include_str!("../../../../events/delete-account.json");
const EXPORT_ACCOUNT: &str = include_str!("../../../../events/export-account.json");
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new horse battery";

fn audit() -> Audit {
    Audit::new(&server_secret())
}

fn as_caller(access_token: &Value, body: Option<Value>) -> impl FnOnce(&mut Value) {
    let header = format!("Bearer {}", access_token.as_str().unwrap());
    move |e| {
        without_authorizer(Some(header))(e);
        if let Some(body) = body {
            e["body"] = json!(body.to_string());
        }
    }
}

async fn change_with(store: &FakeStore, access_token: &Value, current: &str, new: &str) -> (u16, Value) {
    let body = json!({"current_password": current, "new_password": new});
    let request = event(CHANGE_PASSWORD, as_caller(access_token, Some(body)));
    parts(change_password(store, store, store, &verifying(store), &issuer(), request).await.unwrap())
}

async fn delete_with<E: EraseAccount>(
    store: &FakeStore,
    erase: &E,
    access_token: &Value,
    password: &str,
) -> u16 {
    let request = event(DELETE_ACCOUNT, as_caller(access_token, Some(json!({ "password": password }))));
    let response = delete_account(store, store, erase, &verifying(store), &audit(), request).await.unwrap();
    response.status().as_u16()
}

async fn export_with(store: &FakeStore, access_token: &Value) -> (u16, Value) {
    let request = event(EXPORT_ACCOUNT, as_caller(access_token, None));
    parts(export_account(store, store, store, &verifying(store), request).await.unwrap())
}

fn stored_hash(store: &FakeStore) -> PasswordHash {
    store.users.lock().unwrap()[0].password_hash.clone()
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_hands_this_device_a_fresh_pair() {
    let store = FakeStore::default();
    let here = session(&store).await;
    let elsewhere = another_session(&store).await;
    let (status, fresh) = change_with(&store, &here["access_token"], PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{fresh}");
    for old in [&here, &elsewhere] {
        assert_eq!(work_status(&store, &old["access_token"]).await, 401, "an access token of before");
        assert_eq!(refresh_with(&store, &old["refresh_token"]).await.0, 401, "a refresh token of before");
    }
    assert_eq!(work_status(&store, &fresh["access_token"]).await, 200);
    assert_eq!(refresh_with(&store, &fresh["refresh_token"]).await.0, 200);
    assert_eq!(login_status(&store, "joe", PASSWORD).await.0, 401);
    assert_eq!(login_status(&store, "joe", NEW_PASSWORD).await.0, 200);
    assert!(stored_hash(&store).is_current());
}

#[tokio::test]
async fn a_wrong_current_password_is_403_counts_toward_the_login_lockout_and_changes_nothing() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let before = stored_hash(&store);
    for _ in 0..crate::lockout::FREE_FAILURES {
        let (status, body) =
            change_with(&store, &login["access_token"], "not my password", NEW_PASSWORD).await;
        assert_eq!((status, body["result"].as_str()), (403, Some("Password is incorrect")));
    }
    let (status, _) = change_with(&store, &login["access_token"], PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 429, "the right password is not even checked while locked");
    assert_eq!(login_status(&store, "joe", PASSWORD).await.0, 429, "one lockout for /auth and /password");
    assert!(stored_hash(&store) == before);
    assert_eq!(work_status(&store, &login["access_token"]).await, 200, "the session lives on");
}

#[tokio::test]
async fn a_new_password_must_meet_the_policy_and_differ_and_costs_no_attempt_when_it_does_not() {
    let store = FakeStore::default();
    let login = session(&store).await;
    for new in ["short", "password1234", PASSWORD] {
        let (status, body) = change_with(&store, &login["access_token"], PASSWORD, new).await;
        assert_eq!(status, 400, "{new}: {body}");
    }
    for body in
        [json!({"current_password": PASSWORD}), json!({"current_password": 1, "new_password": NEW_PASSWORD})]
    {
        let request = event(CHANGE_PASSWORD, as_caller(&login["access_token"], Some(body)));
        let response = change_password(&store, &store, &store, &verifying(&store), &issuer(), request).await;
        assert_eq!(response.unwrap().status(), 400);
    }
    assert!(store.failures.lock().unwrap().is_empty(), "no attempt counted");
    assert_eq!(login_status(&store, "joe", PASSWORD).await.0, 200);
}

/// The sample events' user, whose password is [`PASSWORD`].
async fn event_user_with_password() -> FakeStore {
    let store = store_with_event_user();
    let hash = passwords::hash(Password::parse(PASSWORD.into()).unwrap()).await.unwrap();
    store.users.lock().unwrap()[0].password_hash = hash;
    store
}

#[tokio::test]
async fn the_sample_password_change_behind_the_authorizer_signs_a_pair_of_the_next_version() {
    let store = event_user_with_password().await;
    let request = event(CHANGE_PASSWORD, |_| {});
    let (status, body) =
        parts(change_password(&store, &store, &store, no_auth(), &issuer(), request).await.unwrap());
    assert_eq!(status, 200, "{body}");
    let claims = tokens().verify(body["access_token"].as_str().unwrap(), unix_now()).unwrap();
    assert_eq!((claims.sub.as_str(), claims.ver), (EVENT_USER, 1));
    assert!(!store.families.lock().unwrap()[0].is_live(EVENT_USER, 1, unix_now()), "the old session ended");
}

#[tokio::test]
async fn a_password_change_racing_another_lands_once() {
    let store = FakeStore::default();
    session(&store).await;
    let user = store.users.lock().unwrap()[0].clone();
    let new = passwords::hash(Password::parse(NEW_PASSWORD.into()).unwrap()).await.unwrap();
    use crate::users::{Sessions, SetPasswordHash};
    assert_eq!(store.set_password_hash(&user, &new, Sessions::End).await.unwrap(), Some(1));
    assert_eq!(
        store.set_password_hash(&user, &new, Sessions::End).await.unwrap(),
        None,
        "read before the first"
    );
}

fn outdated_hash(password: &str) -> PasswordHash {
    let salt = SaltString::generate(&mut OsRng);
    let weaker = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(4096, 3, 1, None).unwrap());
    serde_json::from_value(json!(weaker.hash_password(password.as_bytes(), &salt).unwrap().to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_login_replaces_an_outdated_hash_with_a_current_one_and_ends_no_session() {
    let store = FakeStore::default();
    let first = session(&store).await;
    store.users.lock().unwrap()[0].password_hash = outdated_hash(PASSWORD);
    assert_eq!(login_status(&store, "joe", "wrong password").await.0, 401);
    assert!(!stored_hash(&store).is_current(), "a failed login upgrades nothing");
    assert_eq!(login_status(&store, "joe", PASSWORD).await.0, 200);
    let upgraded = stored_hash(&store);
    assert!(upgraded.is_current(), "{}", upgraded.as_str());
    assert_eq!(login_status(&store, "joe", PASSWORD).await.0, 200);
    assert!(stored_hash(&store) == upgraded, "a current hash is kept");
    assert_eq!(work_status(&store, &first["access_token"]).await, 200);
}

#[tokio::test]
async fn deleting_the_account_removes_the_user_their_items_sessions_and_login_counter() {
    let store = FakeStore::default();
    let here = session(&store).await;
    let elsewhere = another_session(&store).await;
    let user_id = store.users.lock().unwrap()[0].user_id.clone();
    store.items.lock().unwrap().extend([
        item(&user_id, "01JDQ90000000000000000000A"),
        item("01JDQOTHERUSER000000000000", "01JDQ90000000000000000000B"),
    ]);
    assert_eq!(delete_with(&store, &store, &here["access_token"], "not my password").await, 403);
    assert_eq!(store.failures.lock().unwrap().len(), 1);
    assert_eq!(delete_with(&store, &store, &here["access_token"], PASSWORD).await, 204);
    assert!(store.users.lock().unwrap().is_empty());
    assert_eq!(store.items.lock().unwrap().len(), 1, "only the other user's item is left");
    assert!(store.families.lock().unwrap().is_empty());
    assert!(store.failures.lock().unwrap().is_empty());
    for old in [&here, &elsewhere] {
        assert_eq!(work_status(&store, &old["access_token"]).await, 401);
        assert_eq!(refresh_with(&store, &old["refresh_token"]).await.0, 401);
    }
    assert_eq!(delete_with(&store, &store, &here["access_token"], PASSWORD).await, 401, "deleting twice");
}

#[tokio::test]
async fn a_new_account_of_the_same_name_inherits_nothing_and_no_old_token_works_for_it() {
    let store = FakeStore::default();
    let old = session(&store).await;
    let old_id = store.users.lock().unwrap()[0].user_id.clone();
    store.items.lock().unwrap().push(item(&old_id, "01JDQ90000000000000000000A"));
    assert_eq!(delete_with(&store, &store, &old["access_token"], PASSWORD).await, 204);
    let new = session(&store).await;
    assert_ne!(store.users.lock().unwrap()[0].user_id, old_id);
    assert_eq!(work_status(&store, &old["access_token"]).await, 401);
    assert_eq!(refresh_with(&store, &old["refresh_token"]).await.0, 401);
    let (status, export) = export_with(&store, &new["access_token"]).await;
    assert_eq!(status, 200);
    assert_eq!(export["result"]["work_items"], json!([]), "{export}");
}

/// The fake store, but the last step of an erasure fails once, as a network error would.
struct FailsLastStepOnce<'a> {
    store: &'a FakeStore,
    failed: std::sync::atomic::AtomicBool,
}

impl EraseAccount for FailsLastStepOnce<'_> {
    async fn delete_work_items(&self, user_id: &str) -> Result<u64, StoreError> {
        self.store.delete_work_items(user_id).await
    }

    async fn delete_sessions(&self, user_id: &str, except: Option<&str>) -> Result<u64, StoreError> {
        self.store.delete_sessions(user_id, except).await
    }

    async fn delete_user(&self, account: &Account, session: Option<&str>) -> Result<bool, StoreError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection reset".into()));
        }
        self.store.delete_user(account, session).await
    }
}

#[tokio::test]
async fn a_deletion_cut_short_leaves_the_account_usable_and_the_same_request_finishes_it() {
    let store = FakeStore::default();
    let here = session(&store).await;
    let elsewhere = another_session(&store).await;
    let user_id = store.users.lock().unwrap()[0].user_id.clone();
    store.items.lock().unwrap().push(item(&user_id, "01JDQ90000000000000000000A"));
    let flaky = FailsLastStepOnce { store: &store, failed: false.into() };
    assert_eq!(delete_with(&store, &flaky, &here["access_token"], PASSWORD).await, 503);
    assert_eq!(store.users.lock().unwrap().len(), 1, "the user is still there");
    assert_eq!(work_status(&store, &here["access_token"]).await, 200, "and the caller's token works");
    assert_eq!(work_status(&store, &elsewhere["access_token"]).await, 401, "the other sessions are gone");
    assert_eq!(delete_with(&store, &flaky, &here["access_token"], PASSWORD).await, 204);
    assert!(store.users.lock().unwrap().is_empty() && store.families.lock().unwrap().is_empty());
    let erased = crate::erasure::erase(&store, &User::account(&dummy_user(&user_id)), None).await.unwrap();
    assert_eq!(erased, Erased { work_items: 0, sessions: 0, user: false }, "nothing left to erase");
}

fn dummy_user(user_id: &str) -> User {
    serde_json::from_value(json!({
        "username": "joe", "user_id": user_id, "created_at": "2026-11-28T23:59:59Z", "password_hash": "x",
    }))
    .unwrap()
}

#[tokio::test]
async fn the_sample_deletion_behind_the_authorizer_keeps_other_users() {
    let store = event_user_with_password().await;
    let mallory = event(SIGNUP, with_body(json!({"username": "mallory", "password": "mallorys password"})));
    assert_eq!(signup(&store, mallory).await.unwrap().status(), 201);
    let request = event(DELETE_ACCOUNT, |_| {});
    let response = delete_account(&store, &store, &store, no_auth(), &audit(), request).await.unwrap();
    assert_eq!(response.status(), 204);
    let users = store.users.lock().unwrap();
    assert_eq!(users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["mallory"]);
    assert!(store.families.lock().unwrap().is_empty(), "the sample's session went with it");
}

#[tokio::test]
async fn the_export_holds_the_profile_sessions_and_work_items_but_never_the_hash() {
    let store = FakeStore::default();
    let login = session(&store).await;
    another_session(&store).await;
    let user_id = store.users.lock().unwrap()[0].user_id.clone();
    store.items.lock().unwrap().push(item(&user_id, "01JDQ90000000000000000000A"));
    let (status, body) = export_with(&store, &login["access_token"]).await;
    assert_eq!(status, 200, "{body}");
    let export = &body["result"];
    assert_eq!(
        (export["username"].as_str(), export["user_id"].as_str()),
        (Some("joe"), Some(user_id.as_str()))
    );
    assert_eq!(export["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(export["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(export["work_items"][0]["id"], "01JDQ90000000000000000000A");
    assert_eq!(export["work_items_cursor"], Value::Null);
    let text = body.to_string();
    assert!(!text.contains("argon2") && !text.contains("password"), "{text}");
}

#[tokio::test]
async fn an_export_past_its_cap_says_where_get_work_continues() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let user_id = store.users.lock().unwrap()[0].user_id.clone();
    let total = EXPORT_WORK_ITEMS + 3;
    let ids: Vec<String> =
        (0..total as u64).map(|n| ulid::Ulid::from_parts(1_800_000_000_000 + n, 0).to_string()).collect();
    store.items.lock().unwrap().extend(ids.iter().map(|id| item(&user_id, id)));
    let (status, body) = export_with(&store, &login["access_token"]).await;
    assert_eq!(status, 200);
    let exported = body["result"]["work_items"].as_array().unwrap();
    assert_eq!(exported.len(), EXPORT_WORK_ITEMS);
    assert_eq!(exported[0]["id"].as_str(), ids.last().map(String::as_str), "newest first");
    let cursor = body["result"]["work_items_cursor"].as_str().unwrap();
    let header = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let rest = event(LIST_WORK, |e| {
        without_authorizer(Some(header))(e);
        e["queryStringParameters"] = json!({ "cursor": cursor });
        e["rawQueryString"] = json!(format!("cursor={cursor}"));
    });
    let (status, rest) = parts(list_work(&store, &verifying(&store), rest).await.unwrap());
    assert_eq!(status, 200);
    let rest: Vec<&str> =
        rest["result"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(rest, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
}

#[tokio::test]
async fn password_changes_and_deletions_join_the_audit_trail() {
    let store = FakeStore::default();
    let login = session(&store).await;
    let (_, logs) = logs_of(async {
        change_with(&store, &login["access_token"], "not my password", NEW_PASSWORD).await;
        let (_, fresh) = change_with(&store, &login["access_token"], PASSWORD, NEW_PASSWORD).await;
        delete_with(&store, &store, &fresh["access_token"], NEW_PASSWORD).await
    })
    .await;
    let kinds: Vec<String> =
        audit_events(&logs).iter().map(|e| e["audit"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["password_check_failed", "password_changed", "account_deleted"], "{logs}");
    for secret in [PASSWORD, NEW_PASSWORD, "not my password"] {
        assert!(!logs.contains(secret), "{secret} is in the log");
    }
}
