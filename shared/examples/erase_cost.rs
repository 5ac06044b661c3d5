//! What deleting an account costs as its work items grow: `erasure::erase` timed on DynamoDB
//! Local for users of several sizes, with the write request units the deletes consume (each
//! item is under 1 KB: one unit per deleted item, two per item of the final transaction).
//!
//! Run with DynamoDB Local up and `AWS_ENDPOINT_URL_DYNAMODB` set (as `make dev` does):
//! `cargo run --release -p auth-core --example erase_cost [OUT.json [SIZE...]]`; `make bench`
//! runs it for BENCHMARKS.md, "Extra: deleting an account".

use std::time::Instant;

use auth_core::{
    clock::unix_now,
    config::Config,
    dynamodb::{
        self, AccountTables, LOGIN_ATTEMPTS_TABLE, LoginAttemptTable, REFRESH_TOKENS_TABLE,
        RefreshTokenTable, USERS_TABLE, UserTable, WORK_ITEMS_TABLE, WorkItemTable,
    },
    erasure,
    refresh::{ClientSeen, Family, RefreshRecord, RefreshSettings, RefreshToken, RefreshTokens},
    users::{CreateUser, User},
    wiring,
};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

/// Work-item counts measured when the command line names none.
const SIZES: [usize; 3] = [1_000, 5_000, 10_000];
/// Sessions each user has (more than one `BatchWriteItem` of them).
const SESSIONS: usize = 30;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_core::BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = match args.get(1..) {
        Some(sizes) if !sizes.is_empty() => sizes.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
        _ => SIZES.to_vec(),
    };
    let client = wiring::aws(&Config::from_process()).dynamodb();
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let names = ["users", "work", "attempts", "refresh"].map(|t| format!("erase-{t}-{suffix}"));
    for (name, spec) in
        names.iter().zip([USERS_TABLE, WORK_ITEMS_TABLE, LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE])
    {
        dynamodb::create_table_if_absent(&client, name, &spec).await?;
    }
    let tables = AccountTables {
        users: UserTable::new(client.clone(), &names[0]),
        work: WorkItemTable::new(client.clone(), &names[1]),
        attempts: LoginAttemptTable::new(client.clone(), &names[2]),
        sessions: RefreshTokenTable::new(client.clone(), &names[3]),
    };
    let mut runs = Vec::new();
    for &size in &sizes {
        let user_id = ulid::Ulid::new().to_string();
        let user: User = serde_json::from_value(serde_json::json!({
            "username": format!("erase-{}", size), "user_id": user_id, "created_at": "2026-12-03T00:00:00Z",
            "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        }))?;
        tables.users.create_user(&user).await?;
        let items: Vec<WriteRequest> = (0..size)
            .map(|n| {
                let item = serde_dynamo::to_item(serde_json::json!({
                    "user_id": user_id, "item_id": ulid::Ulid::new().to_string(),
                    "title": format!("work item {n} of a user about to leave"), "created_at": "2026-12-03T00:00:00Z",
                }))?;
                Ok(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build()?).build())
            })
            .collect::<Result<_, auth_core::BoxError>>()?;
        for chunk in items.chunks(25) {
            let mut left = chunk.to_vec();
            while !left.is_empty() {
                let output = client.batch_write_item().request_items(&names[1], left).send().await?;
                left = output.unprocessed_items.and_then(|mut u| u.remove(&names[1])).unwrap_or_default();
            }
        }
        let mut own = None;
        for _ in 0..SESSIONS {
            let family = Family::start(
                &ulid::Ulid::new().to_string(),
                &user.account(),
                unix_now(),
                ClientSeen::new("127.0.0.1", "erase_cost"),
                &RefreshSettings::default(),
            );
            let root = RefreshRecord {
                token_hash: RefreshToken::generate().hash(),
                family_id: family.id().to_owned(),
                user_id: user_id.clone(),
                username: user.username.as_str().to_owned(),
                expires_at: family.expires_at,
                used_at_ms: None,
                child_hash: None,
            };
            tables.sessions.start_family(&family, &root).await?;
            own = Some(family.id().to_owned());
        }
        let start = Instant::now();
        let erased = erasure::erase(&tables, &user.account(), own.as_deref()).await?;
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!((erased.work_items, erased.sessions, erased.user), (size as u64, SESSIONS as u64, true));
        // One unit per item deleted by batch, two per item of the final transaction (user, own
        // session, login counter).
        let write_units = erased.work_items + (erased.sessions - 1) + 2 * 3;
        println!(
            "{size:>6} work items, {SESSIONS} sessions: {seconds:>7.3} s, {write_units} write request units"
        );
        runs.push(serde_json::json!({
            "work_items": size, "sessions": SESSIONS, "seconds": seconds, "write_units": write_units,
        }));
    }
    for name in &names {
        dynamodb::delete_table(&client, name).await?;
    }
    if let Some(out) = args.first() {
        std::fs::write(out, serde_json::json!({ "runs": runs }).to_string())?;
    }
    Ok(())
}
