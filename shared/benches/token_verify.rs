//! Measure 1 of BENCHMARKS.md: our full access-token check against its physical floor, one
//! HMAC-SHA256 over the same signing input. Run by `make bench` (and briefly by `make bench-smoke`).

use std::hint::black_box;

use auth_core::{
    keys::SigningSecret,
    tokens::{TokenService, TokenSettings},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::hmac;

const SECRET: &[u8] = b"benchmark-only-secret-0123456789-abcdefghijklmnop";
const NOW: u64 = 1_800_000_000;

fn token_verify(c: &mut Criterion) {
    let tokens = TokenService::new(&SigningSecret::new(SECRET.to_vec()).unwrap(), TokenSettings::default());
    let token = tokens
        .issue("01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D", "joe.bloggs", 3, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW)
        .unwrap()
        .token;
    assert!(tokens.verify(&token, NOW + 60).is_ok(), "the benchmarked token is valid");

    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    assert!(hmac::verify(&key, signing_input.as_bytes(), &signature).is_ok());

    let mut group = c.benchmark_group("token_verify");
    group.bench_function("ours", |b| b.iter(|| tokens.verify(black_box(&token), NOW + 60).unwrap()));
    group.bench_function("raw_hmac_sha256", |b| {
        b.iter(|| hmac::verify(&key, black_box(signing_input.as_bytes()), black_box(&signature)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, token_verify);
criterion_main!(benches);
