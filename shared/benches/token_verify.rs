//! Measure 1 of BENCHMARKS.md: our full access-token check against its physical floor, one
//! RSA-2048 PKCS#1 v1.5 SHA-256 signature check (RS256) over the same signing input. Run by
//! `make bench` (and briefly by `make bench-smoke`).

use std::hint::black_box;

use auth_core::{
    keys::PrivateKey,
    tokens::{TokenService, TokenSettings},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

/// A test-only key (2048 bits), never used outside tests and benchmarks.
const PEM: &str = include_str!("../tests/fixtures/test-only-rsa-1.pem");
const NOW: u64 = 1_800_000_000;

fn token_verify(c: &mut Criterion) {
    let key = PrivateKey::from_pem(PEM).unwrap();
    let tokens = TokenService::new(&key, TokenSettings::default());
    let token = tokens
        .issue("01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D", "joe.bloggs", 3, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "", NOW)
        .unwrap()
        .token;
    assert!(tokens.verify(&token, NOW + 60).is_ok(), "the benchmarked token is valid");

    // The floor: the public key as a verifier holds it (from its JWK), the signature decoded.
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let jwk = key.public().to_jwk();
    let (n, e) = (URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(), URL_SAFE_NO_PAD.decode(&jwk.e).unwrap());
    let public = RsaPublicKeyComponents { n: &n, e: &e };
    let verify =
        |input: &[u8], signature: &[u8]| public.verify(&RSA_PKCS1_2048_8192_SHA256, input, signature);
    assert!(verify(signing_input.as_bytes(), &signature).is_ok());

    let mut group = c.benchmark_group("token_verify");
    group.bench_function("ours", |b| b.iter(|| tokens.verify(black_box(&token), NOW + 60).unwrap()));
    group.bench_function("raw_rsa_pkcs1_sha256", |b| {
        b.iter(|| verify(black_box(signing_input.as_bytes()), black_box(&signature)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, token_verify);
criterion_main!(benches);
