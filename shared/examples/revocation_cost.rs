//! What the authorizer's revocation check costs per uncached decision: the full check (token,
//! then the account and the session, read side by side) against the token check alone, on
//! DynamoDB Local.
//!
//! Run with DynamoDB Local up and `AWS_ENDPOINT_URL_DYNAMODB` set (as `make dev` does):
//! `cargo run --release -p auth-core --example revocation_cost [OUT.json [ROUNDS]]`; `make bench`
//! runs it for BENCHMARKS.md, "Extra: an uncached authorizer decision".

use std::time::{Duration, Instant};

use auth_core::{
    clock::unix_now,
    config::Config,
    dynamodb::{self, REFRESH_TOKENS_TABLE, RefreshTokenTable, USERS_TABLE, UserTable},
    identity::Authenticator,
    keys::{KeyMaterial, KeySet, PrivateKey},
    refresh::{ClientSeen, Family, RefreshRecord, RefreshSettings, RefreshToken, RefreshTokens},
    tokens::{TokenService, TokenSettings},
    users::{CreateUser, User},
    wiring,
};

/// A test-only key (2048 bits), never used outside tests and benchmarks.
const PEM: &str = include_str!("../tests/fixtures/test-only-rsa-1.pem");
/// Decisions timed when the command line names no number.
const ROUNDS: usize = 2_000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_core::BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(ROUNDS);
    let client = wiring::aws(&Config::from_process()).dynamodb();
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let (users_table, sessions_table) =
        (format!("revocation-users-{suffix}"), format!("revocation-sessions-{suffix}"));
    dynamodb::create_table_if_absent(&client, &users_table, &USERS_TABLE).await?;
    dynamodb::create_table_if_absent(&client, &sessions_table, &REFRESH_TOKENS_TABLE).await?;
    let users = UserTable::new(client.clone(), &users_table);
    let sessions = RefreshTokenTable::new(client.clone(), &sessions_table);
    let user: User = serde_json::from_value(serde_json::json!({
        "username": "bench", "user_id": "01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D", "created_at": "2026-11-29T00:00:00Z",
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
    }))?;
    users.create_user(&user).await?;
    let session = Family::start(
        &ulid::Ulid::new().to_string(),
        &user.account(),
        unix_now(),
        ClientSeen::new("127.0.0.1", "revocation_cost"),
        &RefreshSettings::default(),
    );
    let root = RefreshRecord {
        token_hash: RefreshToken::generate().hash(),
        family_id: session.id().to_owned(),
        user_id: user.user_id.clone(),
        username: "bench".into(),
        expires_at: session.expires_at,
        used_at_ms: None,
        child_hash: None,
    };
    sessions.start_family(&session, &root).await?;

    let key = PrivateKey::from_pem(PEM)?;
    let tokens = TokenService::new(&key, TokenSettings::default());
    let token = tokens.issue(&user.user_id, "bench", 0, session.id(), "", unix_now())?.token;
    // The authorizer holds the public key only, as deployed.
    let verifier = KeySet::single(KeyMaterial::Public(key.public().clone()));
    let authenticator = Authenticator::new(
        TokenService::with_keys(&verifier, TokenSettings::default(), None),
        users,
        sessions,
    );

    let (mut alone, mut full) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let start = Instant::now();
        tokens.verify(&token, unix_now())?;
        alone.push(start.elapsed());
        let start = Instant::now();
        authenticator.verify(&token, unix_now()).await?;
        full.push(start.elapsed());
    }
    dynamodb::delete_table(&client, &users_table).await?;
    dynamodb::delete_table(&client, &sessions_table).await?;
    if let Some(out) = args.first() {
        let micros = |samples: &[Duration]| samples.iter().map(|d| d.as_secs_f64() * 1e6).collect::<Vec<_>>();
        let doc = serde_json::json!({"rounds": rounds, "token_us": micros(&alone), "full_us": micros(&full)});
        std::fs::write(out, doc.to_string())?;
    }
    println!("median over {rounds} rounds on DynamoDB Local:");
    println!("  token check alone:                          {:>9.1?}", median(alone));
    println!("  token + account and session GetItem (both): {:>9.1?}", median(full));
    Ok(())
}
