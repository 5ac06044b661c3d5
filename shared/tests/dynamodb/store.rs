use std::time::{Duration, Instant};

use auth_core::{
    clock::unix_now,
    dynamodb::UserTable,
    lockout::{Admission, LoginAttempts},
    refresh::{
        ClientSeen, Family, FindSession, ListSessions, RefreshRecord, RefreshSettings, RefreshTokens,
        Rotation, SessionUse,
    },
    store::StoreError,
    throttle::CountRequests,
    users::{CreateUser, Creation, FindAccount, FindUser, RevokeUserTokens, User, Username},
    work::{Cursor, ListWorkItems, PageRequest, PutWorkItem, WorkItem},
};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::helpers::{TestTables, dead_database_client, stalled_database_client};

pub(crate) fn user(name: &str) -> User {
    serde_json::from_value(json!({
        "username": Username::parse(name).unwrap(),
        "user_id": ulid::Ulid::new().to_string(),
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "created_at": "2026-11-28T23:59:59Z",
    }))
    .unwrap()
}

pub(crate) fn item(user_id: &str, n: u64) -> WorkItem {
    // Ids one millisecond apart, so their order is their creation order.
    let id = ulid::Ulid::from_parts(1_795_910_399_000 + n, u128::from(n)).to_string();
    WorkItem {
        user_id: user_id.into(),
        item_id: id,
        title: format!("item {n}"),
        created_at: "2026-11-28T23:59:59Z".into(),
    }
}

#[tokio::test]
async fn a_created_user_is_found_by_its_canonical_name() {
    let Some(tables) = TestTables::new().await else { return };
    let users = tables.user_table();
    let joe = user("Joe");
    users.create_user(&joe).await.unwrap();
    let found = users.find_user(&Username::parse("JOE").unwrap()).await.unwrap();
    assert_eq!(found, Some(joe));
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let Some(tables) = TestTables::new().await else { return };
    assert_eq!(tables.user_table().find_user(&Username::parse("nobody").unwrap()).await.unwrap(), None);
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_and_the_first_user_is_kept() {
    let Some(tables) = TestTables::new().await else { return };
    let users = tables.user_table();
    let first = user("joe");
    users.create_user(&first).await.unwrap();
    assert!(matches!(users.create_user(&user("JOE")).await, Ok(Creation::NameTaken)));
    assert_eq!(users.find_user(&first.username).await.unwrap(), Some(first));
    assert_eq!(tables.count(&tables.users).await, 1);
}

#[tokio::test]
async fn twenty_concurrent_signups_for_one_name_create_exactly_one_user() {
    let Some(tables) = TestTables::new().await else { return };
    let attempts = (0..20).map(|_| {
        let users = tables.user_table();
        tokio::spawn(async move { users.create_user(&user("racer")).await })
    });
    let results: Vec<_> = futures_results(attempts).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(Creation::Created))).count(), 1);
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(Creation::NameTaken))).count(), 19);
    assert_eq!(tables.count(&tables.users).await, 1);
}

async fn futures_results<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn work_items_list_newest_first_and_only_the_callers() {
    let Some(tables) = TestTables::new().await else { return };
    let work = tables.work_table();
    for n in 1..=3 {
        work.put_work_item(&item("alice", n)).await.unwrap();
        work.put_work_item(&item("bob", n + 10)).await.unwrap();
    }
    let page = work.list_work_items("alice", &PageRequest::parse(None, None).unwrap()).await.unwrap();
    let titles: Vec<&str> = page.items.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["item 3", "item 2", "item 1"]);
    assert!(page.items.iter().all(|i| i.user_id == "alice"));
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn paging_visits_every_item_once_and_ends_with_no_cursor() {
    let Some(tables) = TestTables::new().await else { return };
    let work = tables.work_table();
    for n in 1..=7 {
        work.put_work_item(&item("alice", n)).await.unwrap();
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<Cursor>, 0);
    loop {
        let request = PageRequest { limit: 3, cursor: cursor.clone() };
        let page = work.list_work_items("alice", &request).await.unwrap();
        pages += 1;
        seen.extend(page.items.into_iter().map(|i| i.title));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=7).rev().map(|n| format!("item {n}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_cursor_never_reaches_another_users_items() {
    let Some(tables) = TestTables::new().await else { return };
    let work = tables.work_table();
    for n in 1..=4 {
        work.put_work_item(&item("alice", n)).await.unwrap();
    }
    let alice_page = work.list_work_items("alice", &PageRequest { limit: 2, cursor: None }).await.unwrap();
    let stolen = PageRequest { limit: 100, cursor: alice_page.next };
    let mallory = work.list_work_items("mallory", &stolen).await.unwrap();
    assert!(mallory.items.is_empty());
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_well_within_the_gateway_timeout() {
    let users = UserTable::new(dead_database_client().await, "users");
    let started = Instant::now();
    let error = users.find_user(&Username::parse("joe").unwrap()).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(matches!(users.create_user(&user("joe")).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn a_hung_database_is_unavailable_after_the_operation_timeout() {
    let users = UserTable::new(stalled_database_client().await, "users");
    let started = Instant::now();
    let error = users.find_user(&Username::parse("joe").unwrap()).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn concurrent_requests_each_get_a_count_of_their_own_kept_until_the_expiry() {
    let Some(tables) = TestTables::new().await else { return };
    let counters = tables.attempt_table();
    let key = "source#auth#198.51.100.7#1800000000";
    let handles = (0..20).map(|_| {
        let counters = counters.clone();
        tokio::spawn(async move { counters.count_request(key, 1_800_000_120).await.unwrap() })
    });
    let mut counts = futures_results(handles).await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>());
    assert_eq!(
        counters.count_request("source#auth#198.51.100.8#1800000000", 1_800_000_120).await.unwrap(),
        1
    );
    let stored = tables
        .client
        .get_item()
        .table_name(&tables.attempts)
        .key("username", AttributeValue::S(key.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(stored["hits"], AttributeValue::N("20".into()));
    assert_eq!(stored["expires_at"], AttributeValue::N("1800000120".into()), "the table's TTL attribute");
    assert_eq!(tables.count(&tables.attempts).await, 2, "one item per source and window");
}

#[tokio::test]
async fn attempts_count_as_failures_before_the_check_lock_with_backoff_and_clear_on_success() {
    let Some(tables) = TestTables::new().await else { return };
    let attempts = tables.attempt_table();
    let joe = Username::parse("joe").unwrap();
    assert_eq!(attempts.failed_logins(&joe).await.unwrap(), None);
    let now_ms = 1_800_000_000_000;
    for n in 1..=5 {
        assert_eq!(attempts.admit(&joe, now_ms).await.unwrap(), Admission::Granted { failures: n });
    }
    let locked_until = || async { attempts.failed_logins(&joe).await.unwrap().unwrap().locked_until_ms };
    assert_eq!(locked_until().await, now_ms + 1_000);
    // The fifth check failed 300 ms later: its lock restarts from there, and only ever grows.
    attempts.lock_after_failure(&joe, 5, now_ms + 300).await.unwrap();
    assert_eq!(locked_until().await, now_ms + 1_300);
    attempts.lock_after_failure(&joe, 5, now_ms + 100).await.unwrap();
    attempts.lock_after_failure(&joe, 4, now_ms + 900).await.unwrap();
    assert_eq!(locked_until().await, now_ms + 1_300, "an older failure or an earlier time changes nothing");
    assert_eq!(attempts.admit(&joe, now_ms + 1_299).await.unwrap(), Admission::Locked { retry_after: 1 });
    assert_eq!(attempts.admit(&joe, now_ms + 10_000).await.unwrap(), Admission::Granted { failures: 6 });
    let stored = attempts.failed_logins(&joe).await.unwrap().unwrap();
    assert_eq!((stored.failures, stored.locked_until_ms), (6, now_ms + 12_000));
    assert_eq!(stored.expires_at, 1_800_000_010 + auth_core::lockout::FAILURE_MEMORY_SECONDS);
    attempts.clear_failures(&joe).await.unwrap();
    assert_eq!(attempts.failed_logins(&joe).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_attempts_each_get_their_own_count_and_none_passes_the_lock() {
    let Some(tables) = TestTables::new().await else { return };
    let joe = Username::parse("joe").unwrap();
    let handles = (0..30).map(|_| {
        let (attempts, joe) = (tables.attempt_table(), joe.clone());
        tokio::spawn(async move { attempts.admit(&joe, 1_800_000_000_000).await.unwrap() })
    });
    let mut granted: Vec<u32> = futures_results(handles)
        .await
        .into_iter()
        .filter_map(|a| match a {
            Admission::Granted { failures } => Some(failures),
            Admission::Locked { .. } => None,
        })
        .collect();
    granted.sort_unstable();
    assert!(!granted.is_empty());
    assert_eq!(granted, (1..=granted.len() as u32).collect::<Vec<_>>(), "a count each, none twice");
    assert!(granted.len() <= auth_core::lockout::FREE_FAILURES as usize, "{} passed", granted.len());
    let stored = tables.attempt_table().failed_logins(&joe).await.unwrap().unwrap();
    assert_eq!(stored.failures as usize, granted.len());
}

#[tokio::test]
async fn a_record_stored_without_a_lock_field_still_admits() {
    let Some(tables) = TestTables::new().await else { return };
    let attempts = tables.attempt_table();
    tables
        .client
        .put_item()
        .table_name(&tables.attempts)
        .item("username", AttributeValue::S("joe".into()))
        .item("failures", AttributeValue::N("2".into()))
        .item("expires_at", AttributeValue::N("1800086400".into()))
        .send()
        .await
        .unwrap();
    let joe = Username::parse("joe").unwrap();
    assert_eq!(attempts.admit(&joe, 1_800_000_000_000).await.unwrap(), Admission::Granted { failures: 3 });
}

/// A session as it was stored before sessions had an absolute end or a place in the list.
fn family(id: &str, version: u64) -> Family {
    Family {
        token_hash: Family::key(id),
        user_id: "u1".into(),
        username: "joe".into(),
        token_version: version,
        revoked: false,
        expires_at: 1_900_000_000,
        ends_at: None,
        created_at: None,
        last_used_at: None,
        created_from: None,
        last_used_from: None,
        session_user: None,
    }
}

/// A session of `user_id` as a login starts it now.
fn session(id: &str, user_id: &str) -> Family {
    let user = User { user_id: user_id.into(), ..user("joe") };
    Family::start(
        id,
        &user.account(),
        unix_now(),
        ClientSeen::new("203.0.113.7", "tests"),
        &RefreshSettings::default(),
    )
}

/// A refresh at `at_ms` by a user at `version`, extending the session to `expires_at`.
fn refreshed(version: u64, at_ms: u64, expires_at: u64) -> SessionUse {
    SessionUse {
        token_version: version,
        at_ms,
        from: ClientSeen::new("198.51.100.4", "refreshing client"),
        expires_at,
        ends_at: 1_900_000_000,
    }
}

fn refresh_record(hash: &str, family_id: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        family_id: family_id.into(),
        user_id: "u1".into(),
        username: "joe".into(),
        expires_at: 1_900_000_000,
        used_at_ms: None,
        child_hash: None,
    }
}

#[tokio::test]
async fn a_family_starts_with_its_root_token_and_both_are_found() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    sessions.start_family(&family("f1", 0), &refresh_record("root", "f1")).await.unwrap();
    assert_eq!(sessions.find_token("root").await.unwrap(), Some(refresh_record("root", "f1")));
    assert_eq!(sessions.find_session("f1").await.unwrap(), Some(family("f1", 0)));
    assert_eq!(sessions.find_token("nope").await.unwrap(), None);
}

#[tokio::test]
async fn rotation_consumes_the_parent_once_and_stores_the_child() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    sessions.start_family(&family("f1", 0), &refresh_record("root", "f1")).await.unwrap();
    let root = refresh_record("root", "f1");
    let child = RefreshRecord { expires_at: 1_950_000_000, ..refresh_record("child", "f1") };
    assert_eq!(
        sessions.rotate(&root, &child, &refreshed(0, 1_000, 1_950_000_000)).await.unwrap(),
        Rotation::Rotated
    );
    let used = sessions.find_token("root").await.unwrap().unwrap();
    assert_eq!((used.used_at_ms, used.child_hash.as_deref()), (Some(1_000), Some("child")));
    assert_eq!(sessions.find_token("child").await.unwrap(), Some(child.clone()));
    assert_eq!(sessions.find_session("f1").await.unwrap().unwrap().expires_at, 1_950_000_000);
    let sibling = refresh_record("sibling", "f1");
    assert_eq!(
        sessions.rotate(&root, &sibling, &refreshed(0, 2_000, 1_950_000_000)).await.unwrap(),
        Rotation::AlreadyUsed
    );
    assert_eq!(sessions.find_token("sibling").await.unwrap(), None, "nothing half-written");
}

#[tokio::test]
async fn a_revoked_or_outdated_family_cannot_rotate() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    sessions.start_family(&family("f1", 3), &refresh_record("root", "f1")).await.unwrap();
    let root = refresh_record("root", "f1");
    assert_eq!(
        sessions.rotate(&root, &refresh_record("c1", "f1"), &refreshed(4, 1, 1_900_000_000)).await.unwrap(),
        Rotation::FamilyRevoked
    );
    sessions.revoke_family("f1").await.unwrap();
    assert!(sessions.find_session("f1").await.unwrap().unwrap().revoked);
    assert_eq!(
        sessions.rotate(&root, &refresh_record("c2", "f1"), &refreshed(3, 1, 1_900_000_000)).await.unwrap(),
        Rotation::FamilyRevoked
    );
    assert_eq!(sessions.find_token("root").await.unwrap().unwrap().used_at_ms, None, "nothing half-written");
    sessions.revoke_family("gone").await.unwrap();
}

#[tokio::test]
async fn twenty_concurrent_rotations_of_one_token_mint_one_child() {
    let Some(tables) = TestTables::new().await else { return };
    tables.refresh_table().start_family(&family("f1", 0), &refresh_record("root", "f1")).await.unwrap();
    let handles = (0..20).map(|n| {
        let sessions = tables.refresh_table();
        tokio::spawn(async move {
            let child = refresh_record(&format!("child-{n}"), "f1");
            sessions
                .rotate(&refresh_record("root", "f1"), &child, &refreshed(0, 1_000, 1_900_000_000))
                .await
                .unwrap()
        })
    });
    let outcomes = futures_results(handles).await;
    assert_eq!(outcomes.iter().filter(|o| **o == Rotation::Rotated).count(), 1, "{outcomes:?}");
    assert_eq!(tables.count(&tables.refresh).await, 3, "family, root and one child");
}

#[tokio::test]
async fn revoking_all_tokens_bumps_the_version_only_for_the_owner() {
    let Some(tables) = TestTables::new().await else { return };
    let users = tables.user_table();
    let joe = user("joe");
    users.create_user(&joe).await.unwrap();
    users.revoke_all_tokens(&joe.username, "someone-else").await.unwrap();
    assert_eq!(users.find_user(&joe.username).await.unwrap().unwrap().token_version, 0);
    users.revoke_all_tokens(&joe.username, &joe.user_id).await.unwrap();
    users.revoke_all_tokens(&joe.username, &joe.user_id).await.unwrap();
    assert_eq!(users.find_user(&joe.username).await.unwrap().unwrap().token_version, 2);
    users.revoke_all_tokens(&Username::parse("ghost").unwrap(), "x").await.unwrap();
    assert_eq!(tables.count(&tables.users).await, 1, "no item created for an unknown name");
}

#[tokio::test]
async fn a_session_from_before_absolute_ends_gets_one_at_its_first_refresh_and_joins_the_list() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    sessions.start_family(&family("f1", 0), &refresh_record("root", "f1")).await.unwrap();
    assert_eq!(sessions.sessions_of("u1").await.unwrap(), [], "not listed before it refreshes");
    let child = RefreshRecord { expires_at: 1_850_000_000, ..refresh_record("child", "f1") };
    let refresh = SessionUse { ends_at: 1_900_000_000, ..refreshed(0, 1_800_000_000_000, 1_850_000_000) };
    assert_eq!(
        sessions.rotate(&refresh_record("root", "f1"), &child, &refresh).await.unwrap(),
        Rotation::Rotated
    );
    let stored = sessions.find_session("f1").await.unwrap().unwrap();
    assert_eq!((stored.ends_at, stored.expires_at), (Some(1_900_000_000), 1_850_000_000));
    assert_eq!(
        (stored.last_used_at, stored.last_used_from.clone()),
        (Some(1_800_000_000), Some(refresh.from.clone()))
    );
    assert_eq!(sessions.sessions_of("u1").await.unwrap(), std::slice::from_ref(&stored));
    let later = SessionUse { ends_at: 1_999_999_999, ..refreshed(0, 1_800_000_100_000, 1_850_000_100) };
    let grandchild = refresh_record("grandchild", "f1");
    assert_eq!(sessions.rotate(&child, &grandchild, &later).await.unwrap(), Rotation::Rotated);
    let again = sessions.find_session("f1").await.unwrap().unwrap();
    assert_eq!(again.ends_at, Some(1_900_000_000), "an absolute end, once set, never moves");
}

#[tokio::test]
async fn a_session_past_its_absolute_end_cannot_rotate_however_recently_used() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    let ended = Family { ends_at: Some(1_800_000_000), ..family("f1", 0) };
    sessions.start_family(&ended, &refresh_record("root", "f1")).await.unwrap();
    let root = refresh_record("root", "f1");
    let late = refreshed(0, 1_800_000_000_000, 1_900_000_000);
    assert_eq!(
        sessions.rotate(&root, &refresh_record("c1", "f1"), &late).await.unwrap(),
        Rotation::FamilyRevoked
    );
    assert_eq!(sessions.find_token("root").await.unwrap().unwrap().used_at_ms, None, "nothing half-written");
    let in_time = refreshed(0, 1_799_999_999_000, 1_800_000_000);
    assert_eq!(
        sessions.rotate(&root, &refresh_record("c2", "f1"), &in_time).await.unwrap(),
        Rotation::Rotated
    );
}

#[tokio::test]
async fn sessions_are_listed_by_owner_and_only_sessions() {
    let Some(tables) = TestTables::new().await else { return };
    let sessions = tables.refresh_table();
    let (mine, theirs) =
        (session("01JDQ90A2B4C6D8E0F2G4H6J8K", "u1"), session("01JDQ90A2B4C6D8E0F2G4H6J8M", "u2"));
    for (family, root) in [(&mine, "r1"), (&theirs, "r2")] {
        sessions.start_family(family, &refresh_record(root, family.id())).await.unwrap();
    }
    assert_eq!(sessions.sessions_of("u1").await.unwrap(), std::slice::from_ref(&mine));
    assert_eq!(sessions.sessions_of("u2").await.unwrap(), [theirs]);
    assert_eq!(sessions.sessions_of("u3").await.unwrap(), []);
    sessions.revoke_family(mine.id()).await.unwrap();
    assert!(
        sessions.sessions_of("u1").await.unwrap()[0].revoked,
        "ended sessions stay listed until they expire"
    );
}

#[tokio::test]
async fn an_account_read_projects_the_password_hash_away() {
    let Some(tables) = TestTables::new().await else { return };
    let users = tables.user_table();
    let joe = User { token_version: 3, disabled: true, ..user("Joe") };
    users.create_user(&joe).await.unwrap();
    let account = users.find_account(&Username::parse("JOE").unwrap()).await.unwrap();
    assert_eq!(account, Some(joe.account()));
    assert_eq!(users.find_account(&Username::parse("nobody").unwrap()).await.unwrap(), None);
}
