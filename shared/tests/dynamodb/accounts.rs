//! The account operations of `POST /password`, `DELETE /account` and the login's hash upgrade,
//! against DynamoDB Local.

use auth_core::{
    clock::unix_now,
    dynamodb::AccountTables,
    erasure::{self, EraseAccount, Erased},
    lockout::{Admission, LoginAttempts},
    passwords::PasswordHash,
    refresh::{ClientSeen, Family, FindSession, ListSessions, RefreshRecord, RefreshSettings, RefreshTokens},
    users::{CreateUser, FindUser, Sessions, SetPasswordHash, User},
    work::{ListWorkItems, PageRequest, PutWorkItem, WorkItem},
};
use serde_json::json;

use crate::{
    helpers::TestTables,
    store::{item, user},
};

fn hash(phc: &str) -> PasswordHash {
    serde_json::from_value(json!(phc)).unwrap()
}

fn tables(t: &TestTables) -> AccountTables {
    AccountTables {
        users: t.user_table(),
        work: t.work_table(),
        attempts: t.attempt_table(),
        sessions: t.refresh_table(),
    }
}

/// Starts a session of `user` with id `id` and its first token.
async fn start_session(t: &TestTables, user: &User, id: &str) -> Family {
    let family = Family::start(
        id,
        &user.account(),
        unix_now(),
        ClientSeen::new("203.0.113.7", "tests"),
        &RefreshSettings::default(),
    );
    let root = RefreshRecord {
        token_hash: format!("root-{id}"),
        family_id: id.into(),
        user_id: user.user_id.clone(),
        username: user.username.as_str().into(),
        expires_at: family.expires_at,
        used_at_ms: None,
        child_hash: None,
    };
    t.refresh_table().start_family(&family, &root).await.unwrap();
    family
}

#[tokio::test]
async fn a_new_hash_lands_only_on_the_hash_it_was_read_with_and_may_end_every_session() {
    let Some(t) = TestTables::new().await else { return };
    let users = t.user_table();
    let joe = User { token_version: 4, ..user("joe") };
    users.create_user(&joe).await.unwrap();
    let upgraded = hash("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2huZXdoYXNo");
    assert_eq!(users.set_password_hash(&joe, &upgraded, Sessions::Keep).await.unwrap(), Some(4));
    let stored = users.find_user(&joe.username).await.unwrap().unwrap();
    assert!(stored.password_hash == upgraded && stored.token_version == 4);
    assert_eq!(users.set_password_hash(&joe, &upgraded, Sessions::End).await.unwrap(), None, "a stale read");
    let changed = hash("$argon2id$v=19$m=19456,t=2,p=1$Y2hhbmdlZA$Y2hhbmdlZGNoYW5nZWRjaGFuZ2Vk");
    assert_eq!(users.set_password_hash(&stored, &changed, Sessions::End).await.unwrap(), Some(5));
    let after = users.find_user(&joe.username).await.unwrap().unwrap();
    assert!(after.password_hash == changed && after.token_version == 5);
    let stranger = User { user_id: ulid::Ulid::new().to_string(), ..after.clone() };
    assert_eq!(users.set_password_hash(&stranger, &upgraded, Sessions::End).await.unwrap(), None);
    assert!(
        users.find_user(&joe.username).await.unwrap().unwrap() == after,
        "another account's id writes nothing"
    );
}

#[tokio::test]
async fn concurrent_password_changes_from_one_read_land_exactly_once() {
    let Some(t) = TestTables::new().await else { return };
    let users = t.user_table();
    let joe = user("joe");
    users.create_user(&joe).await.unwrap();
    let mut changes = tokio::task::JoinSet::new();
    for n in 0..10 {
        let (users, joe) = (users.clone(), joe.clone());
        changes.spawn(async move {
            let new = hash(&format!(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNo{n:02}"
            ));
            users.set_password_hash(&joe, &new, Sessions::End).await.unwrap()
        });
    }
    let landed: Vec<_> = changes.join_all().await.into_iter().flatten().collect();
    assert_eq!(landed, [1]);
}

#[tokio::test]
async fn erasing_an_account_deletes_its_items_sessions_counter_and_user_and_nothing_of_others() {
    let Some(t) = TestTables::new().await else { return };
    let store = tables(&t);
    let (joe, ann) = (user("joe"), user("ann"));
    for u in [&joe, &ann] {
        t.user_table().create_user(u).await.unwrap();
    }
    // More than a page of batches, and more than a batch of sessions.
    for n in 0..130 {
        t.work_table().put_work_item(&item(&joe.user_id, n)).await.unwrap();
    }
    t.work_table().put_work_item(&item(&ann.user_id, 1)).await.unwrap();
    let mut joes = Vec::new();
    for n in 0..30u64 {
        joes.push(
            start_session(&t, &joe, &ulid::Ulid::from_parts(1_795_910_399_000 + n, 7).to_string()).await,
        );
    }
    let anns = start_session(&t, &ann, &ulid::Ulid::new().to_string()).await;
    assert!(matches!(
        t.attempt_table().admit(&joe.username, 1_000).await.unwrap(),
        Admission::Granted { .. }
    ));
    let own = joes[0].id().to_owned();

    let erased = erasure::erase(&store, &joe.account(), Some(&own)).await.unwrap();
    assert_eq!(erased, Erased { work_items: 130, sessions: 30, user: true });
    assert_eq!(t.user_table().find_user(&joe.username).await.unwrap(), None);
    let page = PageRequest { limit: 100, cursor: None };
    assert!(t.work_table().list_work_items(&joe.user_id, &page).await.unwrap().items.is_empty());
    assert_eq!(t.work_table().list_work_items(&ann.user_id, &page).await.unwrap().items.len(), 1);
    for session in &joes {
        assert_eq!(t.refresh_table().find_session(session.id()).await.unwrap(), None, "{}", session.id());
    }
    assert_eq!(t.refresh_table().sessions_of(&ann.user_id).await.unwrap(), [anns]);
    assert!(t.attempt_table().failed_logins(&joe.username).await.unwrap().is_none(), "the counter is gone");
    assert!(t.user_table().find_user(&ann.username).await.unwrap().is_some());

    let again = erasure::erase(&store, &joe.account(), Some(&own)).await.unwrap();
    assert_eq!(again, Erased { work_items: 0, sessions: 0, user: false }, "deleting twice finds nothing");
}

#[tokio::test]
async fn the_last_step_never_deletes_a_new_account_that_took_the_name() {
    let Some(t) = TestTables::new().await else { return };
    let store = tables(&t);
    let old = user("joe");
    t.user_table().create_user(&old).await.unwrap();
    let session = start_session(&t, &old, &ulid::Ulid::new().to_string()).await;
    assert!(store.delete_user(&old.account(), Some(session.id())).await.unwrap());
    let new = user("joe");
    t.user_table().create_user(&new).await.unwrap();
    let kept = start_session(&t, &new, &ulid::Ulid::new().to_string()).await;
    assert!(!store.delete_user(&old.account(), Some(kept.id())).await.unwrap(), "the name is another's now");
    assert_eq!(t.user_table().find_user(&new.username).await.unwrap(), Some(new));
    assert!(
        t.refresh_table().find_session(kept.id()).await.unwrap().is_some(),
        "the transaction wrote nothing"
    );
}

#[tokio::test]
async fn deleting_thousands_of_work_items_leaves_none() {
    let Some(t) = TestTables::new().await else { return };
    let store = tables(&t);
    let joe = user("joe");
    let items: Vec<WorkItem> = (0..2_000).map(|n| item(&joe.user_id, n)).collect();
    // 2,000 keep the suite quick; `make bench` measures 10,000 (BENCHMARKS.md).
    let mut writes = tokio::task::JoinSet::new();
    for chunk in items.chunks(100) {
        let (work, chunk) = (t.work_table(), chunk.to_vec());
        writes.spawn(async move {
            for item in chunk {
                work.put_work_item(&item).await.unwrap();
            }
        });
    }
    writes.join_all().await;
    assert_eq!(store.delete_work_items(&joe.user_id).await.unwrap(), 2_000);
    assert_eq!(store.delete_work_items(&joe.user_id).await.unwrap(), 0);
}
