//! Issuing and verifying access tokens: every claim, header and key rule.

use std::time::SystemTime;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use jsonwebtoken::EncodingKey;
use ring::{hmac, signature::RSA_PKCS1_SHA256};
use serde_json::json;

use super::*;
use crate::{keys::test_keys, testing::unreachable_key_source};

const NOW: u64 = 1_800_000_000;

/// Test key `i`: 0 is the service's own.
fn key(i: usize) -> PrivateKey {
    test_keys::private(i)
}

fn service() -> TokenService {
    TokenService::new(&key(0), TokenSettings::default())
}

/// A key set of `current` and `previous` test keys.
fn keys(current: usize, previous: Option<usize>, created: Option<u64>) -> KeySet {
    KeySet {
        current: KeyMaterial::Private(key(current)),
        previous: previous.map(|i| KeyMaterial::Private(key(i))),
        current_created: created.map(|c| SystemTime::UNIX_EPOCH + Duration::from_secs(c)),
    }
}

fn issue(svc: &TokenService, now: u64) -> String {
    svc.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "", now).unwrap().token
}

#[test]
fn the_jwt_provider_signs_rs256_only_and_verifies_nothing() {
    install_jwt_crypto();
    let signing = key(0).encoding().clone();
    let signature = jsonwebtoken::crypto::sign(b"input", &signing, Algorithm::RS256).unwrap();
    assert!(key(0).public().verifies(b"input", &B64.decode(&signature).unwrap()));
    assert!(!key(0).public().verifies(b"inpuT", &B64.decode(&signature).unwrap()));
    for algorithm in
        [Algorithm::HS256, Algorithm::RS384, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA]
    {
        assert!(jsonwebtoken::crypto::sign(b"input", &signing, algorithm).is_err(), "{algorithm:?}");
    }
    let hmac_key = EncodingKey::from_secret(b"a-shared-secret-0123456789-abcdefghij");
    assert!(jsonwebtoken::crypto::sign(b"input", &hmac_key, Algorithm::HS256).is_err());
    let decoding = jsonwebtoken::DecodingKey::from_secret(b"x");
    assert!(jsonwebtoken::crypto::verify(&signature, b"input", &decoding, Algorithm::RS256).is_err());
}

fn claims_json(now: u64) -> serde_json::Value {
    json!({"iss": "jwt-auth", "aud": "jwt-auth-api", "sub": "01J0USER", "client_id": "jwt-auth",
           "username": "joe", "sid": "01JSESSION", "ver": 0, "iat": now, "nbf": now, "exp": now + 900, "jti": "01J0TOKEN"})
}

/// The header we issue, with test key `i`'s id.
fn header(i: usize) -> serde_json::Value {
    json!({"alg": "RS256", "typ": "at+jwt", "kid": key(i).public().kid()})
}

/// Signs arbitrary header and claims JSON with RS256 and test key `signer`. A header without a
/// `kid` gets ours, so each test case fails for the one reason it is about.
fn sign_raw(header: &serde_json::Value, claims: &serde_json::Value, signer: usize) -> String {
    let mut header = header.clone();
    if header.get("kid").is_none() {
        header["kid"] = json!(key(0).public().kid());
    }
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    format!("{input}.{}", B64.encode(rsa_sign(signer, input.as_bytes())))
}

fn rsa_sign(signer: usize, message: &[u8]) -> Vec<u8> {
    let pair = ring::signature::RsaKeyPair::from_pkcs8(key(signer).encoding().inner()).unwrap();
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature).unwrap();
    signature
}

fn rejects(token: &str) -> bool {
    service().verify(token, NOW).is_err()
}

#[test]
fn an_issued_token_is_an_rs256_at_jwt_with_every_claim_of_rfc_9068() {
    let svc = service();
    let issued =
        svc.issue("01J0USER", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "admin reports:read", NOW).unwrap();
    assert_eq!(issued.expires_in, 900);
    let header = jsonwebtoken::decode_header(&issued.token).unwrap();
    assert_eq!((header.alg, header.typ.as_deref()), (Algorithm::RS256, Some("at+jwt")));
    let claims = svc.verify(&issued.token, NOW + 5).unwrap();
    assert_eq!((claims.sub.as_str(), claims.username.as_str()), ("01J0USER", "joe"));
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("jwt-auth", "jwt-auth-api"));
    assert_eq!((claims.client_id.as_str(), claims.scope.as_str()), (CLIENT_ID, "admin reports:read"));
    assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + 900));
    assert_eq!(claims.jti.len(), 26);
    let payload = B64.decode(issued.token.split('.').nth(1).unwrap()).unwrap();
    let without_scope = issue(&svc, NOW);
    let bare = B64.decode(without_scope.split('.').nth(1).unwrap()).unwrap();
    assert!(String::from_utf8(payload).unwrap().contains(r#""scope":"admin reports:read""#));
    assert!(!String::from_utf8(bare).unwrap().contains("scope"), "no roles, no scope claim");
}

#[test]
fn an_expired_token_is_rejected_after_the_leeway() {
    let svc = service();
    let token = issue(&svc, NOW);
    assert!(svc.verify(&token, NOW + 900 + LEEWAY_SECONDS - 1).is_ok());
    let err = svc.verify(&token, NOW + 900 + LEEWAY_SECONDS + 1).unwrap_err();
    assert!(err.is_expired(), "{err}");
}

#[test]
fn a_token_signed_with_another_key_is_rejected() {
    assert!(rejects(&sign_raw(&header(0), &claims_json(NOW), 1)), "another key under our kid");
    assert!(!rejects(&sign_raw(&header(0), &claims_json(NOW), 0)));
}

#[test]
fn a_verifier_holding_only_public_keys_verifies_but_cannot_sign() {
    let verifier =
        TokenService::with_keys(&keys(0, None, None).public_only(), TokenSettings::default(), None);
    assert!(verifier.verify(&issue(&service(), NOW), NOW).is_ok());
    let refused = verifier.issue("u", "joe", 0, "s", "", NOW);
    assert!(matches!(refused, Err(TokenError::CannotSign)), "{refused:?}");
}

#[test]
fn a_tampered_payload_is_rejected() {
    let token = issue(&service(), NOW);
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let forged = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
    assert!(rejects(&forged));
}

#[test]
fn alg_none_and_other_algorithms_are_rejected() {
    let claims = B64.encode(claims_json(NOW).to_string());
    for alg in ["none", "None", "NONE", "nOnE", "rs256", "RS384", "RS512", "PS256", "HS256", "ES256"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": key(0).public().kid()});
        let encoded = B64.encode(header.to_string());
        assert!(rejects(&format!("{encoded}.{claims}.")), "{alg} with empty signature");
        assert!(rejects(&sign_raw(&header, &claims_json(NOW), 0)), "{alg} with an RS256 signature");
    }
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_is_rejected() {
    // The classic confusion: a verifier that let the token pick the algorithm would check this
    // HMAC with the public key's bytes as the secret.
    let jwk = serde_json::to_string(&key(0).public().to_jwk()).unwrap();
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": key(0).public().kid()});
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims_json(NOW).to_string()));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, jwk.as_bytes()), input.as_bytes());
    let verdict = service().verify(&format!("{input}.{}", B64.encode(tag)), NOW);
    assert!(matches!(verdict, Err(TokenError::WrongAlgorithm)), "{verdict:?}");
}

#[test]
fn each_required_claim_must_be_present_and_right() {
    for (claim, bad) in [
        ("exp", None),
        ("nbf", None),
        ("iss", None),
        ("aud", None),
        ("sub", None),
        ("client_id", None),
        ("sid", None),
        ("sid", Some(json!(""))),
        ("username", None),
        ("iat", None),
        ("jti", None),
        ("ver", None),
        ("ver", Some(json!("0"))),
        ("exp", Some(json!("1800000900"))),
        ("exp", Some(json!(true))),
        ("exp", Some(json!(NOW - 3600))),
        ("exp", Some(json!(u64::MAX))),
        ("nbf", Some(json!(NOW + 3600))),
        ("nbf", Some(json!("now"))),
        ("iat", Some(json!(NOW + 3600))),
        ("iss", Some(json!("someone-else"))),
        ("iss", Some(json!("JWT-AUTH"))),
        ("aud", Some(json!("other-api"))),
        ("aud", Some(json!(["jwt-auth-api", "other"]))),
        ("sub", Some(json!(42))),
        ("sub", Some(json!(""))),
        ("client_id", Some(json!("another-client"))),
        ("scope", Some(json!(["admin"]))),
    ] {
        let mut claims = claims_json(NOW);
        match bad.clone() {
            None => claims.as_object_mut().unwrap().remove(claim).map(drop).unwrap(),
            Some(value) => claims[claim] = value,
        }
        let token = sign_raw(&header(0), &claims, 0);
        assert!(rejects(&token), "{claim} = {bad:?}");
    }
}

#[test]
fn a_lifetime_longer_than_configured_is_rejected() {
    let mut claims = claims_json(NOW);
    claims["exp"] = json!(NOW + 901);
    assert!(rejects(&sign_raw(&header(0), &claims, 0)));
}

#[test]
fn key_hints_critical_extensions_and_any_type_but_at_jwt_are_rejected() {
    for header in [
        json!({"alg": "RS256", "typ": "at+jwt", "crit": ["exp"]}),
        json!({"alg": "RS256", "typ": "at+jwt", "jku": "https://evil.example/keys"}),
        json!({"alg": "RS256", "typ": "at+jwt", "x5u": "https://evil.example/cert"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "../../etc/passwd"}),
        json!({"alg": "RS256", "typ": "at+jwt", "jwk": key(1).public().to_jwk()}),
        json!({"alg": "RS256", "typ": "JWT"}),
        json!({"alg": "RS256"}),
        json!({"alg": "RS256", "typ": "at+jwt-other"}),
    ] {
        assert!(rejects(&sign_raw(&header, &claims_json(NOW), 0)), "{header}");
    }
    for typ in ["AT+JWT", "application/at+jwt"] {
        let header = json!({"alg": "RS256", "typ": typ});
        assert!(!rejects(&sign_raw(&header, &claims_json(NOW), 0)), "{typ} is at+jwt");
    }
}

#[test]
fn issued_tokens_name_their_key_and_a_missing_or_foreign_kid_is_rejected() {
    let token = issue(&service(), NOW);
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some(key(0).public().kid()));
    let no_kid = json!({"alg": "RS256", "typ": "at+jwt"});
    let no_kid = format!("{}.{}", B64.encode(no_kid.to_string()), token.split_once('.').unwrap().1);
    assert!(matches!(service().verify(&no_kid, NOW), Err(TokenError::NoKeyId)), "refused without a reload");
    for kid in ["", "nope", "../../../dev/null", "' OR 1=1 --", key(1).public().kid()] {
        let forged = sign_raw(&json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}), &claims_json(NOW), 1);
        assert!(matches!(service().verify(&forged, NOW), Err(TokenError::UnknownKey)), "{kid:?}");
    }
}

#[test]
fn after_a_rotation_tokens_of_the_previous_key_still_verify_and_older_ones_do_not() {
    let settings = TokenSettings::default;
    let before = TokenService::with_keys(&keys(1, Some(0), None), settings(), None);
    let after = TokenService::with_keys(&keys(2, Some(1), None), settings(), None);
    let old = issue(&TokenService::new(&key(0), settings()), NOW);
    let signed_before = issue(&before, NOW);
    assert!(before.verify(&old, NOW).is_ok());
    assert!(after.verify(&signed_before, NOW).is_ok(), "previous key still verifies");
    assert!(matches!(after.verify(&old, NOW), Err(TokenError::UnknownKey)), "two rotations back");
    let signed_after = issue(&after, NOW);
    assert!(matches!(before.verify(&signed_after, NOW), Err(TokenError::UnknownKey)));
}

#[test]
fn after_a_rotation_the_previous_key_verifies_only_tokens_issued_while_it_could_still_sign() {
    let created = NOW - 3600;
    let rotated = keys(0, Some(1), Some(created));
    let last_iat =
        created + TokenSettings::default().key_timing().previous_issues_for().as_secs() + LEEWAY_SECONDS;
    // Verified at their own iat, so only the retirement rule can refuse them.
    let svc = TokenService::with_keys(&rotated, TokenSettings::default(), None);
    let signed_at = |iat| sign_raw(&header(1), &claims_json(iat), 1);
    assert!(svc.verify(&signed_at(created + 60), created + 60).is_ok());
    assert!(svc.verify(&signed_at(last_iat), last_iat).is_ok());
    let forged = svc.verify(&signed_at(last_iat + 1), last_iat + 1);
    assert!(matches!(forged, Err(TokenError::BadClaims(_))), "{forged:?}");
    assert!(svc.verify(&issue(&svc, NOW), NOW).is_ok());
    // The last token the previous key may verify expires within the time it is loaded for.
    let unloaded = created + previous_key_verifies_for(&TokenSettings::default()).as_secs();
    assert!(svc.verify(&signed_at(last_iat), unloaded - 1).is_ok());
    assert!(matches!(svc.verify(&signed_at(last_iat), unloaded), Err(TokenError::Expired)));
    let undated = TokenService::with_keys(&keys(0, Some(1), None), TokenSettings::default(), None);
    assert!(undated.verify(&signed_at(NOW), NOW).is_ok(), "no creation date (local keys): no bound");
}

#[tokio::test]
async fn fixed_keys_are_never_reloaded() {
    assert!(!service().reload_keys_if_older_than(Duration::ZERO).await.unwrap());
}

#[tokio::test]
async fn a_failed_reload_is_an_error_and_keeps_the_loaded_keys() {
    let svc = TokenService::with_keys(
        &keys(0, None, None),
        TokenSettings::default(),
        Some(unreachable_key_source()),
    );
    assert!(svc.reload_keys_if_older_than(Duration::ZERO).await.is_err());
    assert!(svc.verify(&issue(&svc, NOW), NOW).is_ok(), "the loaded keys are kept");
    assert!(!svc.reload_keys_if_older_than(Duration::from_secs(60)).await.unwrap(), "not retried at once");
}

#[tokio::test]
async fn an_unknown_kid_gets_no_verdict_until_the_keys_can_be_reloaded() {
    let svc = TokenService::with_keys(
        &keys(0, None, None),
        TokenSettings::default(),
        Some(unreachable_key_source()),
    );
    *svc.keys.loaded_at.lock().unwrap() -= RELOAD_ON_UNKNOWN_KID_AFTER;
    let unknown = sign_raw(&header(1), &claims_json(NOW), 1);
    for attempt in ["the reload fails", "no reload is due yet, the last one failed"] {
        let verdict = svc.verify_following_rotation(&unknown, NOW).await;
        assert!(matches!(verdict, Err(TokenError::KeysUnavailable)), "{attempt}: {verdict:?}");
    }
    assert!(svc.verify_following_rotation(&issue(&svc, NOW), NOW).await.is_ok(), "known keys still verify");
    let forged = sign_raw(&header(0), &claims_json(NOW), 1);
    let verdict = svc.verify_following_rotation(&forged, NOW).await;
    assert!(matches!(verdict, Err(TokenError::BadSignature)), "a known kid is decided: {verdict:?}");

    let healthy = TokenService::with_keys(&keys(0, None, None), TokenSettings::default(), None);
    let verdict = healthy.verify_following_rotation(&unknown, NOW).await;
    assert!(matches!(verdict, Err(TokenError::UnknownKey)), "nothing to reload: a denial");
}

#[test]
fn oversized_and_malformed_tokens_are_rejected() {
    let valid = issue(&service(), NOW);
    assert!(matches!(service().verify(&"a".repeat(MAX_TOKEN_BYTES + 1), NOW), Err(TokenError::TooLong)));
    let parts: Vec<&str> = valid.split('.').collect();
    for bad in [
        String::new(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{valid}.extra"),
        format!(" {valid}"),
        format!("{}.{}.{}", parts[0], parts[1], B64.encode(b"foreign signature bytes 0123456789")),
        format!("{}.{}.{}", parts[0], parts[1], B64.encode([7u8; 513])),
    ] {
        assert!(rejects(&bad), "{bad:?}");
    }
}

/// A key source that serves whatever keys it holds now.
struct Rotating(std::sync::Mutex<Option<KeySet>>);

impl crate::keys::KeySource for Rotating {
    fn load(&self, _: Duration) -> crate::keys::BoxFuture<'_, Result<KeySet, crate::keys::KeyError>> {
        let keys = self.0.lock().unwrap().take().expect("keys to serve");
        Box::pin(async move { Ok(keys) })
    }
}

#[tokio::test]
async fn a_verifier_that_loaded_before_a_rotation_holds_the_old_key_to_its_bound_once_its_keys_are_old() {
    let rotated_at = NOW - 60;
    let after_rotation = keys(0, Some(1), Some(rotated_at)).public_only();
    // Minted with the old key after its bound: only a key leaked at the rotation could sign it.
    let late = rotated_at
        + TokenSettings::default().key_timing().previous_issues_for().as_secs()
        + LEEWAY_SECONDS
        + 1;
    let leaked = issue(&TokenService::new(&key(1), TokenSettings::default()), late);
    let source = || {
        let keys = std::sync::Mutex::new(Some(after_rotation.clone()));
        Some(Box::new(Rotating(keys)) as Box<dyn crate::keys::KeySource>)
    };
    let before_rotation = keys(1, None, None).public_only();

    let young = TokenService::with_keys(&before_rotation, TokenSettings::default(), source());
    assert!(
        young.verify_following_rotation(&leaked, late).await.is_ok(),
        "keys loaded just now are not reloaded"
    );

    let aged = TokenService::with_keys(&before_rotation, TokenSettings::default(), source())
        .reloading_keys_after(Duration::ZERO);
    let refused = aged.verify_following_rotation(&leaked, late).await;
    assert!(matches!(refused, Err(TokenError::BadClaims(_))), "{refused:?}");
    let in_time = issue(&TokenService::new(&key(1), TokenSettings::default()), rotated_at + 60);
    assert!(aged.verify(&in_time, rotated_at + 60).is_ok(), "tokens it signed before its bound still verify");
}
