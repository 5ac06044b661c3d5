//! Measure 5, ours: `passwords::hash` and `passwords::verify` at the production parameters, as
//! the signup and auth functions call them. A package of its own so that it is built with their
//! profile (`opt-level = 3` for the binary, see the workspace `Cargo.toml`) while the rest of the
//! harness is built like the other functions.
//!
//! Usage: `bench-hash OUT.json [--iterations N]`

use std::time::Instant;

use auth_core::passwords::{self, Password};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, iterations) = match args.as_slice() {
        [out] => (out, 20),
        [out, flag, n] if flag == "--iterations" => (out, n.parse()?),
        _ => return Err("usage: bench-hash OUT.json [--iterations N]".into()),
    };
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
    let result = json!({
        "id": "ours", "name": "ours (argon2 crate, RustCrypto)",
        "params": {"m_kib": 19456, "t": 2, "p": 1}, "hash_ms": hash_ms, "verify_ms": verify_ms,
    });
    std::fs::write(out, serde_json::to_vec_pretty(&result)?)?;
    Ok(())
}
