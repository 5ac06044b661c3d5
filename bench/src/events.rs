//! The authorizer events of measures 2 and 3: realistic HTTP API v2 requests whose tokens are
//! valid (70 %), expired (15 %) or forged (15 %, right `kid`, wrong key), for a fixed set of users.

use std::path::Path;

use auth_core::{
    clock::unix_now,
    config::Config,
    dynamodb::UserTable,
    keys::{SigningSecret, key_id},
    passwords::{self, Password},
    tokens::{TokenService, TokenSettings},
    users::{CreateUser, User, Username},
    wiring,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::hmac;
use serde_json::{Value, json};

use crate::Error;

/// Distinct users the events belong to.
const USERS: usize = 100;

/// The i-th user's id and name; stable, so seeded users match events generated later.
fn user(i: usize) -> (String, String) {
    (ulid::Ulid::from_parts(1_700_000_000_000, i as u128).to_string(), format!("bench-user-{i:03}"))
}

fn secret() -> Result<SigningSecret, Error> {
    let raw = std::env::var("JWT_SECRET").map_err(|_| "JWT_SECRET is unset")?;
    Ok(SigningSecret::new(raw.into_bytes())?)
}

/// Writes `count` events, one JSON per line, and prints the key id and the number of valid ones.
pub fn write(out: &Path, count: usize) -> Result<(), Error> {
    let secret = secret()?;
    let tokens = TokenService::new(&secret, TokenSettings::default());
    let forger = hmac::Key::new(hmac::HMAC_SHA256, b"not-our-key-but-long-enough-to-look-real");
    let template: Value = serde_json::from_str(include_str!("../../events/authorizer.json"))?;
    let now = unix_now();
    let mut lines = String::new();
    let mut valid = 0;
    for i in 0..count {
        let (user_id, username) = user(i % USERS);
        let token = match i % 20 {
            0..14 => {
                valid += 1;
                tokens.issue(&user_id, &username, 0, now)?.token
            }
            14..17 => tokens.issue(&user_id, &username, 0, now - 3_600)?.token,
            _ => {
                let genuine = tokens.issue(&user_id, &username, 0, now)?.token;
                let (input, _) = genuine.rsplit_once('.').expect("a JWT has three parts");
                let signature = hmac::sign(&forger, input.as_bytes());
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
            }
        };
        let authorization = format!("JWT {token}");
        let mut event = template.clone();
        event["identitySource"] = json!([authorization]);
        event["headers"]["authorization"] = json!(authorization);
        event["requestContext"]["requestId"] = json!(format!("bench-{i}"));
        lines.push_str(&event.to_string());
        lines.push('\n');
    }
    std::fs::write(out, lines)?;
    println!("{}", json!({ "kid": key_id(&secret), "events": count, "valid": valid }));
    Ok(())
}

/// Stores the events' users (token version 0, enabled) in `$USERS_TABLE`; existing ones stay.
pub async fn seed_users() -> Result<(), Error> {
    let config = Config::from_process();
    let table = UserTable::new(wiring::aws(&config).dynamodb(), config.users_table()?);
    let password_hash = passwords::hash(Password::unchecked("bench user password".into())).await?;
    for i in 0..USERS {
        let (user_id, username) = user(i);
        let user = User {
            username: Username::parse(&username)?,
            user_id,
            password_hash: password_hash.clone(),
            created_at: "2026-11-29T00:00:00Z".into(),
            token_version: 0,
            disabled: false,
        };
        // A user seeded by an earlier run is kept.
        table.create_user(&user).await?;
    }
    Ok(())
}

/// The events' users as the authorizer would find them, for the in-process measure.
pub fn users() -> Vec<User> {
    (0..USERS)
        .map(|i| {
            let (user_id, username) = user(i);
            serde_json::from_value(json!({
                "username": username, "user_id": user_id, "password_hash": "$argon2id$v=19$unused",
                "created_at": "2026-11-29T00:00:00Z", "token_version": 0, "disabled": false,
            }))
            .expect("a well-formed user")
        })
        .collect()
}
