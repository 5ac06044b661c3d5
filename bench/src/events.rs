//! The authorizer events of measures 2 and 3: realistic HTTP API v2 requests whose tokens are
//! valid (70 %), expired (15 %) or forged (15 %, right `kid`, signed with another RSA key), for a
//! fixed set of users. They are RS256, signed with `$JWT_PRIVATE_KEY`.

use std::path::Path;

use auth_core::{
    clock::unix_now,
    config::{Config, JWT_PRIVATE_KEY},
    dynamodb::{RefreshTokenTable, UserTable},
    keys::PrivateKey,
    passwords::{self, Password},
    refresh::{ClientSeen, Family, FindSession, RefreshRecord, RefreshSettings, RefreshToken, RefreshTokens},
    tokens::{TokenService, TokenSettings},
    users::{CreateUser, User},
    wiring,
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use ring::{
    rand::SystemRandom,
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use serde_json::{Value, json};

use crate::Error;

/// Distinct users the events belong to.
const USERS: usize = 100;

/// The i-th user's id and name; stable, so seeded users match events generated later.
fn user(i: usize) -> (String, String) {
    (ulid::Ulid::from_parts(1_700_000_000_000, i as u128).to_string(), format!("bench-user-{i:03}"))
}

/// The id of the i-th user's one session, likewise stable.
fn session(i: usize) -> String {
    ulid::Ulid::from_parts(1_700_000_000_001, i as u128).to_string()
}

/// The key that signs the events: `$JWT_PRIVATE_KEY`, as the functions read it locally.
pub fn private_key() -> Result<PrivateKey, Error> {
    let pem = std::env::var(JWT_PRIVATE_KEY).map_err(|_| format!("{JWT_PRIVATE_KEY} is unset"))?;
    Ok(PrivateKey::from_pem(&pem)?)
}

/// The forger's key: an RSA key of the right size that is not ours (a test-only one).
fn forger() -> Result<RsaKeyPair, Error> {
    let pem = include_str!("../../shared/tests/fixtures/test-only-rsa-2.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    RsaKeyPair::from_pkcs8(&STANDARD.decode(body)?).map_err(|e| format!("the forger's key: {e}").into())
}

/// Writes `count` events, one JSON per line, and prints the key id and the number of valid ones.
pub fn write(out: &Path, count: usize) -> Result<(), Error> {
    let key = private_key()?;
    let tokens = TokenService::new(&key, TokenSettings::default());
    let forger = forger()?;
    let mut forged = vec![0; forger.public().modulus_len()];
    let template: Value = serde_json::from_str(include_str!("../../events/authorizer.json"))?;
    let now = unix_now();
    let mut lines = String::new();
    let mut valid = 0;
    for i in 0..count {
        let (user_id, username) = user(i % USERS);
        let sid = session(i % USERS);
        let token = match i % 20 {
            0..14 => {
                valid += 1;
                tokens.issue(&user_id, &username, 0, &sid, "", now)?.token
            }
            14..17 => tokens.issue(&user_id, &username, 0, &sid, "", now - 3_600)?.token,
            _ => {
                let genuine = tokens.issue(&user_id, &username, 0, &sid, "", now)?.token;
                let (input, _) = genuine.rsplit_once('.').expect("a JWT has three parts");
                forger
                    .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut forged)
                    .map_err(|_| "the forger could not sign")?;
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(&forged))
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
    println!("{}", json!({ "kid": key.public().kid(), "events": count, "valid": valid }));
    Ok(())
}

/// Stores the events' users (token version 0, enabled) in `$USERS_TABLE` and their sessions in
/// `$REFRESH_TOKENS_TABLE`; existing ones stay.
pub async fn seed_users() -> Result<(), Error> {
    let config = Config::from_process();
    let aws = wiring::aws(&config);
    let users = UserTable::new(aws.dynamodb(), config.users_table()?);
    let sessions = RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?);
    let password_hash = passwords::hash(Password::unchecked("bench user password".into())).await?;
    for (i, mut user) in self::users().into_iter().enumerate() {
        user.password_hash = password_hash.clone();
        // A user seeded by an earlier run is kept, and so is its session.
        users.create_user(&user).await?;
        let session = started(&user, i);
        if sessions.find_session(session.id()).await?.is_none() {
            let root = RefreshToken::generate();
            let record = RefreshRecord {
                token_hash: root.hash(),
                family_id: session.id().to_owned(),
                user_id: user.user_id.clone(),
                username: user.username.as_str().to_owned(),
                expires_at: session.expires_at,
                used_at_ms: None,
                child_hash: None,
            };
            sessions.start_family(&session, &record).await?;
        }
    }
    Ok(())
}

/// The i-th user's session, started now.
fn started(user: &User, i: usize) -> Family {
    let from = ClientSeen::new("203.0.113.10", "bench");
    Family::start(&session(i), &user.account(), unix_now(), from, &RefreshSettings::default())
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

/// The events' sessions as the authorizer would find them, for the in-process measure.
pub fn sessions() -> Vec<Family> {
    users().iter().enumerate().map(|(i, user)| started(user, i)).collect()
}
