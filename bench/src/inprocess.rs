//! Measure 2, ours: the authorizer's handler in one process, event JSON text in and decision
//! JSON text out, as the peers in bench/peers do it. The account and session lookups are
//! in-memory maps (the peers do none); their DynamoDB cost is measured separately.

use std::{collections::HashMap, path::Path, time::Instant};

use auth_core::{
    api::{AuthorizerRequest, authorize},
    clock::unix_now,
    identity::Authenticator,
    keys::{KeyMaterial, KeySet},
    refresh::{Family, FindSession},
    store::StoreError,
    tokens::{TokenService, TokenSettings},
    users::{Account, FindAccount, User, Username},
};
use serde_json::json;

use crate::{Error, events, own_cpu_micros, write_json};

const WARM_UP: usize = 1_000;

struct InMemoryUsers(HashMap<String, User>);

impl FindAccount for InMemoryUsers {
    async fn find_account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        Ok(self.0.get(username.as_str()).map(User::account))
    }
}

struct InMemorySessions(HashMap<String, Family>);

impl FindSession for InMemorySessions {
    async fn find_session(&self, id: &str) -> Result<Option<Family>, StoreError> {
        Ok(self.0.get(id).cloned())
    }
}

pub async fn run(events_file: &Path, out: &Path, rounds: usize) -> Result<(), Error> {
    // The public half of the key that signed the events, as the authorizer holds it.
    let keys = KeySet::single(KeyMaterial::Public(events::private_key()?.public().clone()));
    let users = events::users().into_iter().map(|u| (u.username.as_str().to_owned(), u)).collect();
    let sessions = events::sessions().into_iter().map(|s| (s.id().to_owned(), s)).collect();
    let authenticator = Authenticator::new(
        TokenService::with_keys(&keys, TokenSettings::default(), None),
        InMemoryUsers(users),
        InMemorySessions(sessions),
    );
    let text = std::fs::read_to_string(events_file)?;
    let lines: Vec<&str> = text.lines().collect();

    let invoke = async |line: &str| -> Result<bool, Error> {
        let request: AuthorizerRequest = serde_json::from_str(line)?;
        let decision = authorize(&authenticator, &request, unix_now()).await?;
        std::hint::black_box(serde_json::to_string(&decision)?);
        Ok(decision.is_authorized)
    };
    for line in lines.iter().take(WARM_UP) {
        invoke(line).await?;
    }
    let mut rounds_cpu_us = vec![];
    let mut wall_us = Vec::with_capacity(lines.len());
    let mut allowed = 0;
    for round in 0..rounds {
        let last = round + 1 == rounds;
        let cpu = own_cpu_micros();
        for line in &lines {
            let started = Instant::now();
            let is_allowed = invoke(line).await?;
            if last {
                wall_us.push(started.elapsed().as_secs_f64() * 1e6);
                allowed += usize::from(is_allowed);
            }
        }
        rounds_cpu_us.push((own_cpu_micros() - cpu) / lines.len() as f64);
    }
    write_json(
        out,
        &json!({
            "id": "rust", "name": "ours (Rust, jsonwebtoken + ring)", "invocations": lines.len(),
            "rounds_cpu_us": rounds_cpu_us, "wall_us": wall_us,
            "allowed": allowed, "denied": lines.len() - allowed,
        }),
    )
}
