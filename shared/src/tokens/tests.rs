//! Issuing and verifying access tokens: every claim, header and key rule.

use std::time::SystemTime;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use jsonwebtoken::EncodingKey;
use serde_json::json;

use super::*;
use crate::{
    keys::{PREVIOUS_KEY_ISSUES_FOR, key_id},
    testing::unreachable_key_source,
};

const SECRET: &[u8] = b"test-only-secret-0123456789-abcdefghij";
const NOW: u64 = 1_800_000_000;

fn service() -> TokenService {
    TokenService::new(&SigningSecret::new(SECRET.to_vec()).unwrap(), TokenSettings::default())
}

#[test]
fn the_jwt_provider_signs_and_verifies_hs256_and_refuses_every_other_algorithm() {
    install_jwt_crypto();
    let (signing, verifying) =
        (EncodingKey::from_secret(SECRET), jsonwebtoken::DecodingKey::from_secret(SECRET));
    let signature = jsonwebtoken::crypto::sign(b"input", &signing, Algorithm::HS256).unwrap();
    let expected = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), b"input");
    assert_eq!(signature, B64.encode(expected));
    assert!(jsonwebtoken::crypto::verify(&signature, b"input", &verifying, Algorithm::HS256).unwrap());
    assert!(!jsonwebtoken::crypto::verify(&signature, b"inpuT", &verifying, Algorithm::HS256).unwrap());
    for algorithm in
        [Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
    {
        assert!(jsonwebtoken::crypto::sign(b"input", &signing, algorithm).is_err(), "{algorithm:?}");
        assert!(
            jsonwebtoken::crypto::verify(&signature, b"input", &verifying, algorithm).is_err(),
            "{algorithm:?}"
        );
    }
}

fn claims_json(now: u64) -> serde_json::Value {
    json!({"iss": "jwt-auth", "aud": "jwt-auth-api", "sub": "01J0USER", "username": "joe", "ver": 0,
           "iat": now, "nbf": now, "exp": now + 900, "jti": "01J0TOKEN"})
}

/// Our key id, which `sign_raw` puts in any header that names none.
fn our_kid() -> String {
    key_id(&SigningSecret::new(SECRET.to_vec()).unwrap())
}

/// Signs arbitrary header and claims JSON with HS256 and the given key. A header without a
/// `kid` gets ours, so each test case fails for the one reason it is about.
fn sign_raw(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    let mut header = header.clone();
    if header.get("kid").is_none() {
        header["kid"] = json!(our_kid());
    }
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let signature = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

fn rejects(token: &str) -> bool {
    service().verify(token, NOW).is_err()
}

#[test]
fn an_issued_token_verifies_with_every_claim() {
    let svc = service();
    let issued = svc.issue("01J0USER", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap();
    assert_eq!(issued.expires_in, 900);
    let claims = svc.verify(&issued.token, NOW + 5).unwrap();
    assert_eq!((claims.sub.as_str(), claims.username.as_str()), ("01J0USER", "joe"));
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("jwt-auth", "jwt-auth-api"));
    assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + 900));
    assert_eq!(claims.jti.len(), 26);
}

#[test]
fn an_expired_token_is_rejected_after_the_leeway() {
    let svc = service();
    let issued = svc.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap();
    assert!(svc.verify(&issued.token, NOW + 900 + LEEWAY_SECONDS - 1).is_ok());
    let err = svc.verify(&issued.token, NOW + 900 + LEEWAY_SECONDS + 1).unwrap_err();
    assert!(err.is_expired(), "{err}");
}

#[test]
fn a_token_signed_with_another_key_is_rejected() {
    let token = sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims_json(NOW),
        b"another-secret-0123456789-abcdefghijk",
    );
    assert!(rejects(&token));
    assert!(!rejects(&sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &claims_json(NOW), SECRET)));
}

#[test]
fn a_tampered_payload_is_rejected() {
    let token = service().issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let forged = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
    assert!(rejects(&forged));
}

#[test]
fn alg_none_and_other_algorithms_are_rejected() {
    let claims = B64.encode(claims_json(NOW).to_string());
    for alg in ["none", "None", "NONE", "nOnE", "hs256", "HS384", "HS512", "RS256", "ES256"] {
        let header = B64.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
        assert!(rejects(&format!("{header}.{claims}.")), "{alg} with empty signature");
        let signed = sign_raw(&json!({"alg": alg, "typ": "JWT"}), &claims_json(NOW), SECRET);
        assert!(rejects(&signed), "{alg} with an HS256 signature");
    }
}

#[test]
fn each_required_claim_must_be_present_and_right() {
    for (claim, bad) in [
        ("exp", None),
        ("nbf", None),
        ("iss", None),
        ("aud", None),
        ("sub", None),
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
    ] {
        let mut claims = claims_json(NOW);
        match bad.clone() {
            None => claims.as_object_mut().unwrap().remove(claim).map(drop).unwrap(),
            Some(value) => claims[claim] = value,
        }
        let token = sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &claims, SECRET);
        assert!(rejects(&token), "{claim} = {bad:?}");
    }
}

#[test]
fn a_lifetime_longer_than_configured_is_rejected() {
    let mut claims = claims_json(NOW);
    claims["exp"] = json!(NOW + 901);
    assert!(rejects(&sign_raw(&json!({"alg": "HS256"}), &claims, SECRET)));
}

#[test]
fn key_hints_critical_extensions_and_foreign_types_are_rejected() {
    for header in [
        json!({"alg": "HS256", "crit": ["exp"]}),
        json!({"alg": "HS256", "jku": "https://evil.example/keys"}),
        json!({"alg": "HS256", "x5u": "https://evil.example/cert"}),
        json!({"alg": "HS256", "kid": "../../etc/passwd"}),
        json!({"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}}),
        json!({"alg": "HS256", "typ": "at+jwt-other"}),
    ] {
        assert!(rejects(&sign_raw(&header, &claims_json(NOW), SECRET)), "{header}");
    }
}

fn secret(bytes: &[u8]) -> SigningSecret {
    SigningSecret::new(bytes.to_vec()).unwrap()
}

#[test]
fn issued_tokens_name_their_key_and_a_missing_or_foreign_kid_is_rejected() {
    let token = service().issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid, Some(our_kid()));
    let no_kid =
        format!("{}.{}", B64.encode(json!({"alg": "HS256"}).to_string()), token.split_once('.').unwrap().1);
    assert!(matches!(service().verify(&no_kid, NOW), Err(TokenError::UnknownKey)));
    for kid in ["", "nope", "../../../dev/null", "' OR 1=1 --", "AAAAAAAAAAAAAAAA"] {
        let forged = sign_raw(&json!({"alg": "HS256", "kid": kid}), &claims_json(NOW), SECRET);
        assert!(matches!(service().verify(&forged, NOW), Err(TokenError::UnknownKey)), "{kid:?}");
    }
}

#[test]
fn after_a_rotation_tokens_of_the_previous_key_still_verify_and_older_ones_do_not() {
    let (k0, k1, k2) =
        (b"key-zero-0123456789-abcdefghijklmnopq", b"key-one-0123456789-abcdefghijklmnopqr", SECRET);
    let settings = TokenSettings::default;
    let before = TokenService::with_keys(
        &SigningKeys { current: secret(k1), previous: Some(secret(k0)), current_created: None },
        settings(),
        None,
    );
    let after = TokenService::with_keys(
        &SigningKeys { current: secret(k2), previous: Some(secret(k1)), current_created: None },
        settings(),
        None,
    );
    let old = TokenService::new(&secret(k0), settings())
        .issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW)
        .unwrap()
        .token;
    let signed_before = before.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(before.verify(&old, NOW).is_ok());
    assert!(after.verify(&signed_before, NOW).is_ok(), "previous key still verifies");
    assert!(matches!(after.verify(&old, NOW), Err(TokenError::UnknownKey)), "two rotations back");
    let signed_after = after.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(matches!(before.verify(&signed_after, NOW), Err(TokenError::UnknownKey)));
}

#[test]
fn after_a_rotation_the_previous_key_verifies_only_tokens_issued_while_it_could_still_sign() {
    let (old, new) = (b"key-one-0123456789-abcdefghijklmnopqr".as_slice(), SECRET);
    let created = NOW - 3600;
    let keys = SigningKeys {
        current: secret(new),
        previous: Some(secret(old)),
        current_created: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(created)),
    };
    let old_kid = json!({"alg": "HS256", "typ": "JWT", "kid": key_id(&secret(old))});
    let last_iat = created + PREVIOUS_KEY_ISSUES_FOR.as_secs() + LEEWAY_SECONDS;
    // Verified at their own iat, so only the retirement rule can refuse them.
    let svc = TokenService::with_keys(&keys, TokenSettings::default(), None);
    let signed_at = |iat| sign_raw(&old_kid, &claims_json(iat), old);
    assert!(svc.verify(&signed_at(created + 60), created + 60).is_ok());
    assert!(svc.verify(&signed_at(last_iat), last_iat).is_ok());
    let forged = svc.verify(&signed_at(last_iat + 1), last_iat + 1);
    assert!(matches!(forged, Err(TokenError::BadClaims(_))), "{forged:?}");
    let new_key = svc.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(svc.verify(&new_key, NOW).is_ok());
    // The last token the previous key may verify expires within the time it is loaded for.
    let unloaded = created + previous_key_verifies_for(&TokenSettings::default()).as_secs();
    assert!(svc.verify(&signed_at(last_iat), unloaded - 1).is_ok());
    assert!(matches!(svc.verify(&signed_at(last_iat), unloaded), Err(TokenError::Expired)));
    let undated = TokenService::with_keys(
        &SigningKeys { current_created: None, ..keys },
        TokenSettings::default(),
        None,
    );
    let token = sign_raw(&old_kid, &claims_json(NOW), old);
    assert!(undated.verify(&token, NOW).is_ok(), "no creation date (local keys): no bound");
}

#[tokio::test]
async fn fixed_keys_are_never_reloaded() {
    assert!(!service().reload_keys_if_older_than(Duration::ZERO).await.unwrap());
}

#[tokio::test]
async fn a_failed_reload_is_an_error_and_keeps_the_loaded_keys() {
    let keys = SigningKeys::single(secret(SECRET));
    let svc = TokenService::with_keys(&keys, TokenSettings::default(), Some(unreachable_key_source()));
    assert!(svc.reload_keys_if_older_than(Duration::ZERO).await.is_err());
    let token = svc.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(svc.verify(&token, NOW).is_ok(), "the loaded keys are kept");
    assert!(!svc.reload_keys_if_older_than(Duration::from_secs(60)).await.unwrap(), "not retried at once");
}

#[tokio::test]
async fn an_unknown_kid_gets_no_verdict_until_the_keys_can_be_reloaded() {
    let keys = SigningKeys::single(secret(SECRET));
    let svc = TokenService::with_keys(&keys, TokenSettings::default(), Some(unreachable_key_source()));
    *svc.keys.loaded_at.lock().unwrap() -= RELOAD_ON_UNKNOWN_KID_AFTER;
    let other = b"key-one-0123456789-abcdefghijklmnopqr";
    let unknown = sign_raw(&json!({"alg": "HS256", "kid": key_id(&secret(other))}), &claims_json(NOW), other);
    for attempt in ["the reload fails", "no reload is due yet, the last one failed"] {
        let verdict = svc.verify_following_rotation(&unknown, NOW).await;
        assert!(matches!(verdict, Err(TokenError::KeysUnavailable)), "{attempt}: {verdict:?}");
    }
    let ours = svc.issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(svc.verify_following_rotation(&ours, NOW).await.is_ok(), "known keys still verify");
    let forged = sign_raw(&json!({"alg": "HS256"}), &claims_json(NOW), other);
    let verdict = svc.verify_following_rotation(&forged, NOW).await;
    assert!(matches!(verdict, Err(TokenError::BadSignature)), "a known kid is decided: {verdict:?}");

    let healthy = TokenService::with_keys(&keys, TokenSettings::default(), None);
    let verdict = healthy.verify_following_rotation(&unknown, NOW).await;
    assert!(matches!(verdict, Err(TokenError::UnknownKey)), "nothing to reload: a denial");
}

#[test]
fn oversized_and_malformed_tokens_are_rejected() {
    let valid = service().issue("u", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", NOW).unwrap().token;
    assert!(matches!(service().verify(&"a".repeat(MAX_TOKEN_BYTES + 1), NOW), Err(TokenError::TooLong)));
    let parts: Vec<&str> = valid.split('.').collect();
    for bad in [
        String::new(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{valid}.extra"),
        format!(" {valid}"),
        format!("{}.{}.{}", parts[0], parts[1], B64.encode(b"foreign signature bytes 0123456789")),
    ] {
        assert!(rejects(&bad), "{bad:?}");
    }
}

/// A key source that serves whatever keys it holds now.
struct Rotating(std::sync::Mutex<Option<SigningKeys>>);

impl crate::keys::KeySource for Rotating {
    fn load(&self, _: Duration) -> crate::keys::BoxFuture<'_, Result<SigningKeys, crate::keys::KeyError>> {
        let keys = self.0.lock().unwrap().take().expect("keys to serve");
        Box::pin(async move { Ok(keys) })
    }
}

#[tokio::test]
async fn a_verifier_that_loaded_before_a_rotation_holds_the_old_key_to_its_bound_once_its_keys_are_old() {
    let (old, new) = (b"key-one-0123456789-abcdefghijklmnopqr".as_slice(), SECRET);
    let rotated_at = NOW - 60;
    let after_rotation = SigningKeys {
        current: secret(new),
        previous: Some(secret(old)),
        current_created: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(rotated_at)),
    };
    // Minted with the old key after its bound: only a key leaked at the rotation could sign it.
    let late = rotated_at + PREVIOUS_KEY_ISSUES_FOR.as_secs() + LEEWAY_SECONDS + 1;
    let leaked = TokenService::new(&secret(old), TokenSettings::default())
        .issue("u", "joe", 0, "s", late)
        .unwrap()
        .token;
    let source = || {
        let keys = std::sync::Mutex::new(Some(clone_keys(&after_rotation)));
        Some(Box::new(Rotating(keys)) as Box<dyn crate::keys::KeySource>)
    };

    let young =
        TokenService::with_keys(&SigningKeys::single(secret(old)), TokenSettings::default(), source());
    assert!(
        young.verify_following_rotation(&leaked, late).await.is_ok(),
        "keys loaded just now are not reloaded"
    );

    let aged = TokenService::with_keys(&SigningKeys::single(secret(old)), TokenSettings::default(), source())
        .reloading_keys_after(Duration::ZERO);
    let refused = aged.verify_following_rotation(&leaked, late).await;
    assert!(matches!(refused, Err(TokenError::BadClaims(_))), "{refused:?}");
    let in_time = TokenService::new(&secret(old), TokenSettings::default())
        .issue("u", "joe", 0, "s", rotated_at + 60)
        .unwrap()
        .token;
    assert!(aged.verify(&in_time, rotated_at + 60).is_ok(), "tokens it signed before its bound still verify");
}

fn clone_keys(keys: &SigningKeys) -> SigningKeys {
    SigningKeys {
        current: keys.current.clone(),
        previous: keys.previous.clone(),
        current_created: keys.current_created,
    }
}
