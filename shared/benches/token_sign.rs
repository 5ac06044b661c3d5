//! Signing cost and token size, beside measure 1 of BENCHMARKS.md: what `/auth` and `/refresh`
//! do for each response (`TokenService::issue`: the claims, their JSON and base64url, one RS256
//! signature) against its physical floor, one RSA-2048 PKCS#1 v1.5 SHA-256 signature (ring) over
//! a signing input of the same length. Run by `make bench` (and briefly by `make bench-smoke`).
//!
//! With `TOKEN_SIZE_OUT` set, it also writes there, as JSON, the size of a typical token in
//! bytes, without a scope and with one.

use std::hint::black_box;

use auth_core::{
    keys::PrivateKey,
    tokens::{TokenService, TokenSettings},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::{
    rand::SystemRandom,
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use serde_json::json;

/// A test-only key (2048 bits), never used outside tests and benchmarks.
const PEM: &str = include_str!("../tests/fixtures/test-only-rsa-1.pem");
const NOW: u64 = 1_800_000_000;
const USER_ID: &str = "01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D";
const USERNAME: &str = "joe.bloggs";
const SESSION_ID: &str = "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E";
/// One role, as `jwt-auth-admin roles` grants it (README, "Scopes").
const SCOPE: &str = "reports:read";

fn token_sign(c: &mut Criterion) {
    let key = PrivateKey::from_pem(PEM).unwrap();
    let tokens = TokenService::new(&key, TokenSettings::default());
    let issue = |scope: &str| tokens.issue(USER_ID, USERNAME, 3, SESSION_ID, scope, NOW).unwrap().token;
    let token = issue("");
    assert!(tokens.verify(&token, NOW + 60).is_ok(), "the benchmarked token is valid");
    if let Ok(path) = std::env::var("TOKEN_SIZE_OUT") {
        let sizes =
            json!({ "tokens": [size("no scope", &token), size(&format!("scope `{SCOPE}`"), &issue(SCOPE))] });
        std::fs::write(path, serde_json::to_vec_pretty(&sizes).unwrap()).unwrap();
    }

    // The floor: the key pair as ring holds it, signing what a token signs.
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let body: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    let pair = RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap();
    let rng = SystemRandom::new();
    let mut signature = vec![0; pair.public().modulus_len()];
    let mut sign = |input: &[u8]| pair.sign(&RSA_PKCS1_SHA256, &rng, input, &mut signature);
    assert!(sign(signing_input.as_bytes()).is_ok());

    let mut group = c.benchmark_group("token_sign");
    group.bench_function("ours", |b| {
        b.iter(|| tokens.issue(USER_ID, USERNAME, black_box(3), SESSION_ID, "", NOW).unwrap())
    });
    group.bench_function("raw_rsa_pkcs1_sha256", |b| {
        b.iter(|| sign(black_box(signing_input.as_bytes())).unwrap())
    });
    group.finish();
}

/// A token's size in bytes: whole, each part as sent (base64url), and as `Authorization: Bearer`.
fn size(name: &str, token: &str) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    let decoded = |part: &str| URL_SAFE_NO_PAD.decode(part).unwrap().len();
    json!({
        "name": name,
        "bytes": token.len(),
        "header_bytes": parts[0].len(),
        "payload_bytes": parts[1].len(),
        "payload_json_bytes": decoded(parts[1]),
        "signature_bytes": parts[2].len(),
        "authorization_header_bytes": "Authorization: Bearer ".len() + token.len(),
    })
}

criterion_group!(benches, token_sign);
criterion_main!(benches);
