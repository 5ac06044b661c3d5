//! Access tokens: RS256 JWTs of type `at+jwt` (RFC 9068) with every claim pinned and checked.
//! Signing needs a private key; verifying, which the authorizer and any other service do, only
//! the public ones ([`crate::keys`]).

use std::{borrow::Cow, ops::RangeInclusive, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, Header,
    crypto::{CryptoProvider, JwkUtils, JwtSigner},
};
use ring::{rand::SystemRandom, signature::RsaKeyPair};
use serde::{Deserialize, Serialize, de::IgnoredAny};

use crate::keys::{
    DEFAULT_OUTSIDE_CACHE, KEYS_MAX_AGE, KeyError, KeyMaterial, KeySet, KeySource, KeyTiming, Keys,
    MAX_RSA_BITS, PrivateKey, RELOAD_ON_UNKNOWN_KID_AFTER,
};

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 10;
/// Longest decoded header accepted; ours is about 90 bytes.
const MAX_HEADER_BYTES: usize = 256;
/// Length of the longest RS256 signature, that of a [`MAX_RSA_BITS`] key.
const MAX_SIGNATURE_BYTES: usize = MAX_RSA_BITS / 8;
/// The only signing algorithm issued or accepted.
const ALGORITHM: Algorithm = Algorithm::RS256;
/// The token type issued and required (RFC 9068 §2.1; RFC 8725 §3.11).
pub const TOKEN_TYPE: &str = "at+jwt";
/// The `client_id` of every token: the service's own first-party client (RFC 9068 §2.2).
pub const CLIENT_ID: &str = "jwt-auth";

/// Access-token lifetime unless configured (`ACCESS_TOKEN_TTL_SECONDS`): 15 minutes.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(900);
/// The lifetimes that may be configured, in seconds: a minute to a day. It is also the longest
/// `exp - iat` a token may claim.
pub const ACCESS_TTL_RANGE: RangeInclusive<u64> = 60..=86_400;

/// What every token carries and every verifier checks, apart from the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss` claim (`JWT_ISSUER`, default `jwt-auth`).
    pub issuer: String,
    /// `aud` claim (`JWT_AUDIENCE`, default `jwt-auth-api`).
    pub audience: String,
    /// Access-token lifetime ([`DEFAULT_ACCESS_TTL`], within [`ACCESS_TTL_RANGE`]).
    pub access_ttl: Duration,
    /// How long verifiers outside the stack may cache the key set (`JWKS_CACHE_SECONDS`,
    /// [`DEFAULT_OUTSIDE_CACHE`]): a new key is published for longer before it signs.
    pub outside_key_cache: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "jwt-auth".into(),
            audience: "jwt-auth-api".into(),
            access_ttl: DEFAULT_ACCESS_TTL,
            outside_key_cache: DEFAULT_OUTSIDE_CACHE,
        }
    }
}

impl TokenSettings {
    /// When a new key signs and how long the previous one is trusted, with these settings.
    pub fn key_timing(&self) -> KeyTiming {
        KeyTiming::for_outside_caches(self.outside_key_cache)
    }
}

/// How long after a rotation the previous key can still verify a valid token with these
/// settings (see [`KeyTiming::previous_verifies_for`]); later it is neither loaded nor published.
pub fn previous_key_verifies_for(settings: &TokenSettings) -> Duration {
    settings.key_timing().previous_verifies_for(settings.access_ttl, Duration::from_secs(LEEWAY_SECONDS))
}

/// The claims every access token carries: RFC 9068's, then ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user's stable id.
    pub sub: String,
    /// The client the token was issued to: always [`CLIENT_ID`].
    pub client_id: String,
    /// The user's roles, space-separated (RFC 6749 §3.3); absent when there are none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    pub username: String,
    /// The user's token version at issue; "log out everywhere" bumps it, revoking this token.
    pub ver: u64,
    /// The session (refresh-token family) the token belongs to: when it ends, so does the token.
    pub sid: String,
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
    #[error("token names a key that is not ours")]
    UnknownKey,
    /// No `kid`: refused at once, without the reload an unknown `kid` may cause.
    #[error("token names no key")]
    NoKeyId,
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
    #[error("token is not signed with RS256")]
    WrongAlgorithm,
    #[error("token signature does not match")]
    BadSignature,
    /// No verdict: the token names a key this instance does not know, and its keys could not be
    /// reloaded (the last reload failed), so it may be a key from a rotation not yet seen.
    #[error("token names an unknown key, and the signing keys could not be reloaded")]
    KeysUnavailable,
    #[error("token rejected: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// This instance holds public keys only, and cannot sign.
    #[error("no private key to sign with")]
    CannotSign,
}

impl TokenError {
    /// True when the token was well-formed and genuine but is past its `exp`.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

/// `jsonwebtoken`'s signing for the one algorithm used here, on `ring`'s RSA. Its built-in
/// providers link every algorithm it supports, and a second crypto library. Verifying is
/// [`TokenService::verify`]'s own, so this provider verifies nothing.
static RS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| Ok(Box::new(Rs256::new(algorithm, key.inner())?)),
    verifier_factory: |_, _| Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()),
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`RS256_ONLY`] `jsonwebtoken`'s provider for this process; later calls change nothing.
pub fn install_jwt_crypto() {
    let _ = RS256_ONLY.install_default();
}

/// An RSA private key as `jsonwebtoken` signs with; any other algorithm is refused.
struct Rs256(RsaKeyPair);

impl Rs256 {
    fn new(algorithm: &Algorithm, pkcs8: &[u8]) -> jsonwebtoken::errors::Result<Self> {
        if *algorithm != ALGORITHM {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into());
        }
        let pair = RsaKeyPair::from_pkcs8(pkcs8)
            .map_err(|_| jsonwebtoken::errors::ErrorKind::InvalidRsaKey("not a PKCS#8 RSA key".into()))?;
        Ok(Self(pair))
    }
}

impl signature::Signer<Vec<u8>> for Rs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut signature = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(&ring::signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| signature::Error::new())?;
        Ok(signature)
    }
}

impl JwtSigner for Rs256 {
    fn algorithm(&self) -> Algorithm {
        ALGORITHM
    }
}

/// Issues and verifies access tokens with the keys in force (see [`crate::keys`]).
pub struct TokenService {
    keys: Keys,
    settings: TokenSettings,
    /// How old the keys may get before a verification reloads them ([`KEYS_MAX_AGE`]).
    reload_after: Duration,
}

impl TokenService {
    /// A service with one fixed private key, which signs and verifies.
    pub fn new(key: &PrivateKey, settings: TokenSettings) -> Self {
        Self::with_keys(&KeySet::single(KeyMaterial::Private(key.clone())), settings, None)
    }

    /// A service with current and previous keys, reloadable from `source`. It signs only if it
    /// holds private keys.
    pub fn with_keys(keys: &KeySet, settings: TokenSettings, source: Option<Box<dyn KeySource>>) -> Self {
        install_jwt_crypto();
        let keys = Keys::new(keys, source, settings.key_timing(), previous_key_verifies_for(&settings));
        Self { keys, settings, reload_after: KEYS_MAX_AGE }
    }

    /// Reloads the keys before a verification once they are `age` old, instead of
    /// [`KEYS_MAX_AGE`] (tests make it zero).
    pub fn reloading_keys_after(mut self, age: Duration) -> Self {
        self.reload_after = age;
        self
    }

    /// The settings tokens are issued and checked with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The keys tokens are signed and verified with.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// See [`Keys::reload_if_older_than`].
    pub async fn reload_keys_if_older_than(&self, min_age: Duration) -> Result<bool, KeyError> {
        self.keys.reload_if_older_than(min_age).await
    }

    /// Signs an access token for a user's session, granting `scope` (space-separated; empty
    /// for none), with the key that signs at `now`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        user_id: &str,
        username: &str,
        version: u64,
        session_id: &str,
        scope: &str,
        now: u64,
    ) -> Result<AccessToken, TokenError> {
        let ttl = self.settings.access_ttl.as_secs();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            scope: scope.to_owned(),
            username: username.to_owned(),
            ver: version,
            sid: session_id.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: ulid::Ulid::new().to_string(),
        };
        let ring = self.keys.ring();
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(TOKEN_TYPE.into());
        let (signer, _) = ring.signer(now);
        let private = signer.private().ok_or(TokenError::CannotSign)?;
        header.kid = Some(signer.kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims, private.encoding())?;
        Ok(AccessToken { token, expires_in: ttl })
    }

    /// [`Self::verify`] with the keys in force: reloaded first once they are [`KEYS_MAX_AGE`] old
    /// (a failed reload keeps them), and again (at most once a minute) if the token names a key
    /// this instance has not seen, as after a rotation. While reloading fails, such a token gets
    /// [`TokenError::KeysUnavailable`]: no verdict, rather than a denial a cache would keep.
    pub async fn verify_following_rotation(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if self.keys.older_than(self.reload_after) {
            // Logged inside; the loaded keys still verify.
            let _ = self.keys.reload_if_older_than(self.reload_after).await;
        }
        match self.verify(token, now) {
            Err(TokenError::UnknownKey) => {
                match self.keys.reload_if_older_than(RELOAD_ON_UNKNOWN_KID_AFTER).await {
                    Ok(true) => self.verify(token, now),
                    Ok(false) if !self.keys.reload_failed() => Err(TokenError::UnknownKey),
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
    /// required, with its exact type; duplicates refused), and the signature checked before the
    /// claims are read.
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
        let ring = self.keys.ring();
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = ring.find(&kid).ok_or(TokenError::UnknownKey)?;
        // Decoded on the stack: the token's length is bounded, and this runs on every request.
        let mut tag = [0u8; MAX_SIGNATURE_BYTES];
        let tag_len = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag).map_err(|_| TokenError::Malformed)?;
        if !key.public().verifies(message.as_bytes(), &tag[..tag_len]) {
            return Err(TokenError::BadSignature);
        }
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
        if claims.client_id != CLIENT_ID {
            return Err(TokenError::BadClaims("issued to another client"));
        }
        if claims.sub.is_empty()
            || claims.username.is_empty()
            || claims.jti.is_empty()
            || claims.sid.is_empty()
        {
            return Err(TokenError::BadClaims("empty subject, username, session or token id"));
        }
        if !key.trusted_for(claims.iat, LEEWAY_SECONDS) {
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
    /// [`ALGORITHM`] and [`TOKEN_TYPE`] only; refuses key hints and critical extensions.
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
            ("typ", !self.typ.as_deref().is_some_and(is_access_token_type)),
        ];
        match forbidden.into_iter().find(|(_, present)| *present) {
            Some((name, _)) => Err(TokenError::ForbiddenHeader(name)),
            None => Ok(()),
        }
    }
}

/// `at+jwt`, or its full media type, compared as RFC 9068 §4 asks (case-insensitively).
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case(TOKEN_TYPE)
}

#[cfg(test)]
mod tests;
