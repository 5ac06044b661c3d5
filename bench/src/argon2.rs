//! Measure 5, ours: `passwords::hash` and `passwords::verify` at the production parameters,
//! as the signup and auth functions call them.

use std::{path::Path, time::Instant};

use auth_core::passwords::{self, Password};
use serde_json::json;

use crate::{Error, write_json};

const PASSWORD: &str = "correct horse battery";

pub async fn run(out: &Path, iterations: usize) -> Result<(), Error> {
    let password = || Password::unchecked(PASSWORD.into());
    let stored = passwords::hash(password()).await?;
    let mut hash_ms = vec![];
    let mut verify_ms = vec![];
    for _ in 0..iterations {
        let started = Instant::now();
        passwords::hash(password()).await?;
        hash_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        assert!(passwords::verify(password(), Some(stored.clone())).await?);
        verify_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    write_json(
        out,
        &json!({
            "id": "ours", "name": "ours (argon2 crate, RustCrypto)",
            "params": {"m_kib": 19456, "t": 2, "p": 1}, "hash_ms": hash_ms, "verify_ms": verify_ms,
        }),
    )
}
