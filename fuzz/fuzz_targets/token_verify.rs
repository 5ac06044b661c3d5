//! Any bytes as an `Authorization` value or a token: verification never panics, and nothing
//! but a token signed with our key verifies.
#![no_main]

use auth_core::{
    identity::token_from_authorization,
    keys::PrivateKey,
    tokens::{TokenService, TokenSettings},
};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static TOKENS: TokenService = TokenService::new(
            &PrivateKey::from_pem(include_str!("../../shared/tests/fixtures/test-only-rsa-1.pem")).unwrap(),
            TokenSettings::default(),
        );
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    TOKENS.with(|tokens| {
        let token = token_from_authorization(text).unwrap_or(text);
        if let Ok(claims) = tokens.verify(token, NOW) {
            // Only a genuine token can get here: the fuzzer cannot forge an RSA signature.
            panic!("a fuzzed token verified: {claims:?}");
        }
    });
});
