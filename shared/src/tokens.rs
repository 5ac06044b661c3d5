//! Access tokens: HS256 JWTs with every claim pinned and checked.

use std::{
    borrow::Cow,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier},
};
use ring::{digest, hmac};
use serde::{Deserialize, Serialize, de::IgnoredAny};

use crate::{
    config::{
        ConfigError, KeyConfig, KeySource, SecretsManagerKeys, SigningKeys, SigningSecret, TokenSettings,
    },
    refresh::ChildDeriver,
    store::Aws,
};

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 10;
/// Longest decoded header accepted; ours is about 80 bytes.
const MAX_HEADER_BYTES: usize = 256;
/// Length of an HS256 signature; a longer one cannot be ours.
const SIGNATURE_BYTES: usize = 32;
/// The only signing algorithm issued or accepted.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// The claims every access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user's stable id.
    pub sub: String,
    pub username: String,
    /// The user's token version at issue; "log out everywhere" bumps it, revoking this token.
    pub ver: u64,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a token was refused. Callers answer every variant with the same 401.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    #[error("token names no key, or a key that is not ours")]
    UnknownKey,
    #[error("token header carries a forbidden or unknown parameter: {0}")]
    ForbiddenHeader(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token claims are inconsistent: {0}")]
    BadClaims(&'static str),
    #[error("token is not three base64url segments")]
    Malformed,
    #[error("token is not signed with HS256")]
    WrongAlgorithm,
    #[error("token signature does not match")]
    BadSignature,
    /// No verdict: the token names a key this instance does not know, and its keys could not be
    /// reloaded (the last reload failed), so it may be a key from a rotation not yet seen.
    #[error("token names an unknown key, and the signing keys could not be reloaded")]
    KeysUnavailable,
    #[error("token rejected: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl TokenError {
    /// True when the token was well-formed and genuine but is past its `exp`.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

/// How soon a verifier may reload its keys after the last load, when a token names a key it does
/// not know (a rotation it has not seen). Bounds Secrets Manager calls forged `kid`s can cause.
pub const RELOAD_ON_UNKNOWN_KID_AFTER: Duration = Duration::from_secs(60);
/// How long a new key only verifies after its creation, before it signs: longer than a verifier
/// that loaded its keys just before a rotation may wait to reload on an unknown `kid`, so no
/// verifier meets a token signed with a key it cannot load yet.
pub const KEY_ACTIVATION_DELAY: Duration = Duration::from_secs(2 * RELOAD_ON_UNKNOWN_KID_AFTER.as_secs());
/// How old a signer's keys may get before it reloads them, so it follows rotations.
pub const SIGNER_KEYS_MAX_AGE: Duration = Duration::from_secs(600);
/// After a rotation, the previous key verifies only tokens issued within this time of the new
/// key's creation: the activation delay, then the longest a signer keeps its loaded keys. So a
/// leaked key stops working one token lifetime after that, not at the next rotation.
pub const PREVIOUS_KEY_ISSUES_FOR: Duration =
    Duration::from_secs(KEY_ACTIVATION_DELAY.as_secs() + SIGNER_KEYS_MAX_AGE.as_secs());

/// How long after the current key's creation the previous key can still verify a valid token:
/// one issued up to [`PREVIOUS_KEY_ISSUES_FOR`] after it lives `access_ttl` more, each end with
/// its leeway, through its last second. Later there is no need to load it at all.
pub fn previous_key_verifies_for(settings: &TokenSettings) -> Duration {
    PREVIOUS_KEY_ISSUES_FOR + settings.access_ttl + Duration::from_secs(2 * LEEWAY_SECONDS + 1)
}

/// One HS256 key and its id.
struct Key {
    kid: String,
    encoding: EncodingKey,
    verifying: hmac::Key,
    /// The latest `iat` (Unix seconds) it is trusted for, once a newer key replaced it.
    issued_until: Option<u64>,
}

impl Key {
    fn new(secret: &SigningSecret) -> Self {
        Self {
            kid: key_id(secret),
            encoding: EncodingKey::from_secret(secret.expose()),
            verifying: hmac::Key::new(hmac::HMAC_SHA256, secret.expose()),
            issued_until: None,
        }
    }
}

/// `jsonwebtoken`'s signing for the one algorithm used here, on `ring`'s HMAC. Its built-in
/// providers link every algorithm it supports, and a second crypto library.
static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret()?)?)),
    verifier_factory: |algorithm, key| Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret()?)?)),
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`HS256_ONLY`] `jsonwebtoken`'s provider for this process; later calls change nothing.
pub fn install_jwt_crypto() {
    let _ = HS256_ONLY.install_default();
}

/// An HS256 key as `jsonwebtoken` signs and verifies with; any other algorithm is refused.
struct Hs256(hmac::Key);

impl Hs256 {
    fn new(algorithm: &Algorithm, secret: &[u8]) -> jsonwebtoken::errors::Result<Self> {
        if *algorithm != ALGORITHM {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into());
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        hmac::verify(&self.0, message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        ALGORITHM
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        ALGORITHM
    }
}

/// The key id of a secret: a truncated hash, so it names the key without revealing it.
pub fn key_id(secret: &SigningSecret) -> String {
    let mut input = b"jwt-auth key id/v1:".to_vec();
    input.extend_from_slice(secret.expose());
    let digest = digest::digest(&digest::SHA256, &input);
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12])
}

/// The keys in force: the current key, and the previous one while it may still verify; either
/// verifies by `kid`, and refresh-token children are derived from the same two.
struct KeyRing {
    current: Key,
    previous: Option<Key>,
    /// From when (Unix seconds) `current` signs: [`KEY_ACTIVATION_DELAY`] after its creation,
    /// where the source records it; `previous` signs until then.
    current_signs_from: Option<u64>,
}

impl KeyRing {
    fn single(secret: &SigningSecret) -> Self {
        Self { current: Key::new(secret), previous: None, current_signs_from: None }
    }

    /// The previous key verifies only tokens issued up to [`PREVIOUS_KEY_ISSUES_FOR`] after the
    /// current one's creation.
    fn from_keys(keys: &SigningKeys) -> Self {
        let created = keys.current_created.map(unix_seconds);
        let previous = keys.previous.as_ref().map(|secret| Key {
            issued_until: created.map(|c| c + PREVIOUS_KEY_ISSUES_FOR.as_secs()),
            ..Key::new(secret)
        });
        let current_signs_from = created.map(|c| c + KEY_ACTIVATION_DELAY.as_secs());
        Self { current: Key::new(&keys.current), previous, current_signs_from }
    }

    /// The key that signs at `now`, then the other one in force: the current one signs, or the
    /// previous one while the current is younger than [`KEY_ACTIVATION_DELAY`].
    fn signer(&self, now: u64) -> (&Key, Option<&Key>) {
        match &self.previous {
            Some(previous) if self.current_signs_from.is_some_and(|from| now < from) => {
                (previous, Some(&self.current))
            }
            previous => (&self.current, previous.as_ref()),
        }
    }

    fn find(&self, kid: &str) -> Option<&Key> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.kid == kid)
    }
}

/// Issues and verifies access tokens with the current and previous HS256 keys.
pub struct TokenService {
    ring: RwLock<Arc<KeyRing>>,
    /// Where to reload keys from after a rotation; `None` for fixed keys.
    source: Option<Box<dyn KeySource>>,
    loaded_at: Mutex<Instant>,
    /// Whether the last reload failed: until one succeeds, an unknown `kid` gets no verdict.
    reload_failed: AtomicBool,
    settings: TokenSettings,
}

impl TokenService {
    /// A service with one fixed key; the secret was already checked for strength.
    pub fn new(secret: &SigningSecret, settings: TokenSettings) -> Self {
        Self::build(KeyRing::single(secret), settings, None)
    }

    /// A service with current and previous keys, reloadable from `source`.
    pub fn with_keys(
        keys: &SigningKeys,
        settings: TokenSettings,
        source: Option<Box<dyn KeySource>>,
    ) -> Self {
        Self::build(KeyRing::from_keys(keys), settings, source)
    }

    fn build(ring: KeyRing, settings: TokenSettings, source: Option<Box<dyn KeySource>>) -> Self {
        install_jwt_crypto();
        Self {
            ring: RwLock::new(Arc::new(ring)),
            source,
            loaded_at: Mutex::new(Instant::now()),
            reload_failed: AtomicBool::new(false),
            settings,
        }
    }

    /// The service for a function that signs or verifies (the authorizer, `auth`, `refresh`):
    /// keys from Secrets Manager (`JWT_SECRET_ARN`, deployed), reloaded after a rotation, or from
    /// `JWT_SECRET` (local). No key is an error.
    pub async fn from_env(aws: &Aws) -> Result<Self, ConfigError> {
        match KeyConfig::from_env()? {
            KeyConfig::SecretsManager { arn } => {
                let settings = TokenSettings::from_env()?;
                let source: Box<dyn KeySource> = Box::new(SecretsManagerKeys::new(aws, arn));
                let keys = source.load(previous_key_verifies_for(&settings)).await?;
                Ok(Self::with_keys(&keys, settings, Some(source)))
            }
            local => Self::local(local)?.ok_or(ConfigError::Missing(KeyConfig::VARIABLES)),
        }
    }

    /// The service for a handler behind the authorizer, which verifies tokens itself only where
    /// no authorizer runs (`cargo lambda watch`), with `JWT_SECRET`. Deployed it has no key
    /// (`None`), and requests without an authorizer's context are refused.
    pub fn local_from_env() -> Result<Option<Self>, ConfigError> {
        Self::local(KeyConfig::from_env()?)
    }

    /// Fixed keys from `JWT_SECRET`, if that is the configuration. Such a handler never reads
    /// Secrets Manager, so `JWT_SECRET_ARN` is refused rather than ignored.
    fn local(config: KeyConfig) -> Result<Option<Self>, ConfigError> {
        match config {
            KeyConfig::SecretsManager { .. } => Err(ConfigError::Invalid {
                name: "JWT_SECRET_ARN",
                reason: "this function runs behind the authorizer and reads no key; locally, set JWT_SECRET"
                    .into(),
            }),
            KeyConfig::Env => {
                Ok(Some(Self::with_keys(&SigningKeys::from_env()?, TokenSettings::from_env()?, None)))
            }
            KeyConfig::None => Ok(None),
        }
    }

    /// The settings tokens are issued and checked with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Derives refresh-token children with the keys in force (as of the last reload): the one
    /// that signs now first.
    pub fn children(&self) -> ChildDeriver {
        let ring = self.ring();
        let (signing, other) = ring.signer(unix_now());
        ChildDeriver::new(&signing.verifying, other.map(|key| &key.verifying))
    }

    /// Reloads the keys if they were loaded longer than `min_age` ago and can be reloaded:
    /// `Ok(true)` if it did, `Ok(false)` if no reload was due (or the keys are fixed). A failed
    /// reload keeps the old keys, is logged, and is retried no sooner than `min_age`.
    pub async fn reload_keys_if_older_than(&self, min_age: Duration) -> Result<bool, ConfigError> {
        let Some(source) = &self.source else { return Ok(false) };
        {
            let mut loaded_at = self.loaded_at.lock().unwrap_or_else(|e| e.into_inner());
            if loaded_at.elapsed() < min_age {
                return Ok(false);
            }
            *loaded_at = Instant::now();
        }
        let loaded = source.load(previous_key_verifies_for(&self.settings)).await;
        self.reload_failed.store(loaded.is_err(), Ordering::Relaxed);
        match loaded {
            Ok(keys) => {
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(KeyRing::from_keys(&keys));
                tracing::info!("signing keys reloaded");
                Ok(true)
            }
            Err(error) => {
                tracing::error!(%error, "could not reload the signing keys; keeping the loaded ones");
                Err(error)
            }
        }
    }

    /// Signs an access token for a user with the current key, valid from `now` for the
    /// configured lifetime.
    pub fn issue(
        &self,
        user_id: &str,
        username: &str,
        version: u64,
        now: u64,
    ) -> Result<AccessToken, TokenError> {
        let ttl = self.settings.access_ttl.as_secs();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id.to_owned(),
            username: username.to_owned(),
            ver: version,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: ulid::Ulid::new().to_string(),
        };
        let ring = self.ring();
        let mut header = Header::new(ALGORITHM);
        header.typ = Some("JWT".into());
        let (signer, _) = ring.signer(now);
        header.kid = Some(signer.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &signer.encoding)?;
        Ok(AccessToken { token, expires_in: ttl })
    }

    /// [`Self::verify`], reloading the keys first (at most once a minute) if the token names a
    /// key this instance has not seen, as after a rotation. While reloading fails, such a token
    /// gets [`TokenError::KeysUnavailable`]: no verdict, rather than a denial a cache would keep.
    pub async fn verify_following_rotation(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        match self.verify(token, now) {
            Err(TokenError::UnknownKey) => {
                match self.reload_keys_if_older_than(RELOAD_ON_UNKNOWN_KID_AFTER).await {
                    Ok(true) => self.verify(token, now),
                    Ok(false) if !self.reload_failed.load(Ordering::Relaxed) => Err(TokenError::UnknownKey),
                    _ => Err(TokenError::KeysUnavailable),
                }
            }
            other => other,
        }
    }

    /// Verifies key id, signature, algorithm, header and every claim; returns the claims if all
    /// hold. The key is chosen only by `kid` among our own keys, never from the token.
    ///
    /// The header is decoded once and the claims once, straight into [`Claims`] (every claim
    /// required, with its exact type; duplicates refused), against an HMAC key prepared at load.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong);
        }
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = message.split_once('.').ok_or(TokenError::Malformed)?;
        let mut header_json = [0u8; MAX_HEADER_BYTES];
        let header_len =
            URL_SAFE_NO_PAD.decode_slice(header, &mut header_json).map_err(|_| TokenError::Malformed)?;
        let header: TokenHeader =
            serde_json::from_slice(&header_json[..header_len]).map_err(|_| TokenError::Malformed)?;
        header.check()?;
        let ring = self.ring();
        let key = header.kid.and_then(|kid| ring.find(&kid)).ok_or(TokenError::UnknownKey)?;
        // Decoded on the stack: the token's length is bounded, and this runs on every request.
        let mut tag = [0u8; SIGNATURE_BYTES];
        let tag_len = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&key.verifying, message.as_bytes(), &tag[..tag_len])
            .map_err(|_| TokenError::BadSignature)?;
        let mut buffer = [0u8; MAX_TOKEN_BYTES];
        let payload_len =
            URL_SAFE_NO_PAD.decode_slice(payload, &mut buffer).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&buffer[..payload_len])
            .map_err(|_| TokenError::BadClaims("a claim is missing, repeated or of the wrong type"))?;
        if claims.iss != self.settings.issuer || claims.aud != self.settings.audience {
            return Err(TokenError::BadClaims("wrong issuer or audience"));
        }
        if claims.exp.saturating_add(LEEWAY_SECONDS) < now {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(TokenError::BadClaims("issued in the future"));
        }
        if claims.exp <= claims.iat || claims.exp - claims.iat > self.settings.access_ttl.as_secs() {
            return Err(TokenError::BadClaims("lifetime longer than the configured maximum"));
        }
        if claims.sub.is_empty() || claims.username.is_empty() || claims.jti.is_empty() {
            return Err(TokenError::BadClaims("empty subject, username or token id"));
        }
        if key.issued_until.is_some_and(|until| claims.iat > until + LEEWAY_SECONDS) {
            return Err(TokenError::BadClaims("issued after its key was replaced"));
        }
        Ok(claims)
    }
}

/// The JOSE header as `verify` reads it: the three parameters we issue, and the presence of the
/// ones we never do. Other parameters are ignored; a repeated one is refused.
#[derive(Deserialize)]
struct TokenHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    crit: Option<IgnoredAny>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
    zip: Option<IgnoredAny>,
    enc: Option<IgnoredAny>,
}

impl TokenHeader<'_> {
    /// [`ALGORITHM`] only; refuses key hints, critical extensions and types other than JWT.
    fn check(&self) -> Result<(), TokenError> {
        if self.alg.parse::<Algorithm>().ok() != Some(ALGORITHM) {
            return Err(TokenError::WrongAlgorithm);
        }
        let forbidden = [
            ("crit", self.crit.is_some()),
            ("jku", self.jku.is_some()),
            ("jwk", self.jwk.is_some()),
            ("x5u", self.x5u.is_some()),
            ("x5c", self.x5c.is_some()),
            ("zip", self.zip.is_some()),
            ("enc", self.enc.is_some()),
            ("typ", self.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))),
        ];
        match forbidden.into_iter().find(|(_, present)| *present) {
            Some((name, _)) => Err(TokenError::ForbiddenHeader(name)),
            None => Ok(()),
        }
    }
}

/// Extracts the token from `Authorization: Bearer <t>` or the blog's `Authorization: JWT <t>`.
///
/// The scheme is case-insensitive; anything else (other schemes, extra spaces, lists of
/// credentials, characters outside base64url and `.`) yields `None`.
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let known_scheme = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt");
    let well_formed = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (known_scheme && well_formed).then_some(token)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    unix_seconds(SystemTime::now())
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::unreachable_key_source;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use serde_json::json;

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
        let issued = svc.issue("01J0USER", "joe", 0, NOW).unwrap();
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
        let issued = svc.issue("u", "joe", 0, NOW).unwrap();
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
        let token = service().issue("u", "joe", 0, NOW).unwrap().token;
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
        let token = service().issue("u", "joe", 0, NOW).unwrap().token;
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid, Some(our_kid()));
        let no_kid = format!(
            "{}.{}",
            B64.encode(json!({"alg": "HS256"}).to_string()),
            token.split_once('.').unwrap().1
        );
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
        let old = TokenService::new(&secret(k0), settings()).issue("u", "joe", 0, NOW).unwrap().token;
        let signed_before = before.issue("u", "joe", 0, NOW).unwrap().token;
        assert!(before.verify(&old, NOW).is_ok());
        assert!(after.verify(&signed_before, NOW).is_ok(), "previous key still verifies");
        assert!(matches!(after.verify(&old, NOW), Err(TokenError::UnknownKey)), "two rotations back");
        let signed_after = after.issue("u", "joe", 0, NOW).unwrap().token;
        assert!(matches!(before.verify(&signed_after, NOW), Err(TokenError::UnknownKey)));
    }

    #[test]
    fn a_new_key_verifies_at_once_but_signs_only_once_it_is_past_the_activation_delay() {
        let (old, new) = (b"key-one-0123456789-abcdefghijklmnopqr".as_slice(), SECRET);
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        let keys =
            SigningKeys { current: secret(new), previous: Some(secret(old)), current_created: Some(created) };
        let ring = KeyRing::from_keys(&keys);
        let signer = |at: SystemTime| ring.signer(unix_seconds(at)).0.kid.clone();
        assert_eq!(signer(created), key_id(&secret(old)));
        assert_eq!(signer(created + KEY_ACTIVATION_DELAY - Duration::from_millis(1)), key_id(&secret(old)));
        assert_eq!(signer(created + KEY_ACTIVATION_DELAY), key_id(&secret(new)));
        assert!(ring.find(&key_id(&secret(new))).is_some(), "the new key verifies at once");
        let first = SigningKeys { previous: None, ..keys };
        assert_eq!(
            KeyRing::from_keys(&first).signer(NOW).0.kid,
            key_id(&secret(new)),
            "nothing else to sign with"
        );
        assert!(KEY_ACTIVATION_DELAY > RELOAD_ON_UNKNOWN_KID_AFTER);
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
        let new_key = svc.issue("u", "joe", 0, NOW).unwrap().token;
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

    #[test]
    fn a_handler_behind_the_authorizer_refuses_a_secrets_manager_key_and_may_have_none() {
        let arn = KeyConfig::SecretsManager { arn: "arn:aws:secretsmanager:us-east-1:1:secret:jwt".into() };
        let refused = TokenService::local(arn).err().expect("JWT_SECRET_ARN must not be ignored");
        assert!(matches!(refused, ConfigError::Invalid { name: "JWT_SECRET_ARN", .. }), "{refused}");
        assert!(TokenService::local(KeyConfig::None).unwrap().is_none());
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
        let token = svc.issue("u", "joe", 0, NOW).unwrap().token;
        assert!(svc.verify(&token, NOW).is_ok(), "the loaded keys are kept");
        assert!(
            !svc.reload_keys_if_older_than(Duration::from_secs(60)).await.unwrap(),
            "not retried at once"
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_gets_no_verdict_until_the_keys_can_be_reloaded() {
        let keys = SigningKeys::single(secret(SECRET));
        let svc = TokenService::with_keys(&keys, TokenSettings::default(), Some(unreachable_key_source()));
        *svc.loaded_at.lock().unwrap() -= RELOAD_ON_UNKNOWN_KID_AFTER;
        let other = b"key-one-0123456789-abcdefghijklmnopqr";
        let unknown =
            sign_raw(&json!({"alg": "HS256", "kid": key_id(&secret(other))}), &claims_json(NOW), other);
        for attempt in ["the reload fails", "no reload is due yet, the last one failed"] {
            let verdict = svc.verify_following_rotation(&unknown, NOW).await;
            assert!(matches!(verdict, Err(TokenError::KeysUnavailable)), "{attempt}: {verdict:?}");
        }
        let ours = svc.issue("u", "joe", 0, NOW).unwrap().token;
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
        let valid = service().issue("u", "joe", 0, NOW).unwrap().token;
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

    #[test]
    fn both_blog_and_bearer_schemes_are_accepted_case_insensitively() {
        for value in ["JWT abc.def.ghi", "jwt abc.def.ghi", "Bearer abc.def.ghi", "bEaReR abc.def.ghi"] {
            assert_eq!(token_from_authorization(value), Some("abc.def.ghi"), "{value}");
        }
    }

    #[test]
    fn other_authorization_shapes_are_refused() {
        for value in [
            "",
            "abc.def.ghi",
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer  abc.def.ghi",
            "Bearer abc.def.ghi ",
            "Bearer abc.def.ghi, JWT abc.def.ghi",
            "Token abc.def.ghi",
        ] {
            assert_eq!(token_from_authorization(value), None, "{value:?}");
        }
    }
}
