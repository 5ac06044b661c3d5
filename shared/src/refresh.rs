//! Refresh tokens: opaque 256-bit values, stored only as SHA-256 hashes, rotated on every use.
//!
//! Each login starts a *family*. Refreshing consumes the presented token atomically and mints its
//! child. A token presented again within the grace window (a client retry or race) gets the same
//! child back; later, it is treated as stolen and the whole family is revoked. The child is
//! derived as HMAC(key, parent), so the same child can be handed out again without ever storing
//! a usable token.

use std::{future::Future, ops::RangeInclusive, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{digest, hmac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{keys::KeyRing, store::StoreError};

/// Raw refresh tokens are this many random bytes.
const TOKEN_BYTES: usize = 32;
/// Their base64url (unpadded) length.
const TOKEN_CHARS: usize = 43;
/// Default lifetime of a refresh token (30 days); each rotation starts a fresh one.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 86_400);
/// The lifetimes that may be configured, in seconds: an hour to a year.
pub const REFRESH_TTL_RANGE: RangeInclusive<u64> = 3_600..=31_536_000;
/// Default window in which a consumed token still returns its child (client retries).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// The grace windows that may be configured, in seconds: none to a minute.
pub const GRACE_RANGE: RangeInclusive<u64> = 0..=60;

/// Lifetime and reuse grace of refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSettings {
    /// `REFRESH_TOKEN_TTL_SECONDS` ([`DEFAULT_REFRESH_TTL`], within [`REFRESH_TTL_RANGE`]).
    pub lifetime: Duration,
    /// `REFRESH_GRACE_SECONDS` ([`DEFAULT_GRACE`], within [`GRACE_RANGE`]).
    pub grace: Duration,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self { lifetime: DEFAULT_REFRESH_TTL, grace: DEFAULT_GRACE }
    }
}

/// A raw refresh token as the client holds it. It never prints.
pub struct RefreshToken(SecretString);

impl RefreshToken {
    /// A fresh random token for a new family.
    pub fn generate() -> Self {
        Self(crate::random_base64url::<TOKEN_BYTES>().into())
    }

    /// Accepts only the exact shape this service issues.
    pub fn parse(raw: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).ok()?;
        (raw.len() == TOKEN_CHARS && decoded.len() == TOKEN_BYTES).then(|| Self(raw.to_owned().into()))
    }

    /// The value handed to the client.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The only form that is stored: base64url(SHA-256(token)).
    pub fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, self.expose().as_bytes()))
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken([REDACTED])")
    }
}

/// Derives each token's child from keys bound to the signing keys (the one that signs first).
pub struct ChildDeriver(Vec<hmac::Key>);

impl ChildDeriver {
    /// Child keys bound to the keys of `ring` in force at `now`: the one that signs first.
    pub fn for_ring(ring: &KeyRing, now: u64) -> Self {
        let (signing, other) = ring.signer(now);
        Self::new(signing.hmac(), other.map(|key| key.hmac()))
    }

    /// Child keys bound to the access-token HMAC keys: the one that signs and the other one in
    /// force, if any.
    pub fn new(signing: &hmac::Key, other: Option<&hmac::Key>) -> Self {
        // A key of its own, so access-token signatures and refresh children never share one.
        let derive = |key: &hmac::Key| {
            hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(key, b"refresh-token-children/v1").as_ref())
        };
        Self(std::iter::once(signing).chain(other).map(derive).collect())
    }

    /// The child `parent` rotates to now.
    pub fn child_of(&self, parent: &RefreshToken) -> RefreshToken {
        Self::derive(&self.0[0], parent)
    }

    /// The child `parent` rotated to, if derived with either key in force (a retry can straddle a
    /// key rotation).
    pub fn find_child(&self, parent: &RefreshToken, child_hash: &str) -> Option<RefreshToken> {
        self.0.iter().map(|key| Self::derive(key, parent)).find(|child| child.hash() == child_hash)
    }

    fn derive(key: &hmac::Key, parent: &RefreshToken) -> RefreshToken {
        RefreshToken(URL_SAFE_NO_PAD.encode(hmac::sign(key, parent.expose().as_bytes())).into())
    }
}

/// A stored refresh token (by hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub username: String,
    /// Unix seconds; DynamoDB TTL deletes the item after it.
    pub expires_at: u64,
    /// Unix milliseconds when it was exchanged for its child, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at_ms: Option<u64>,
    /// Hash of the child it was exchanged for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_hash: Option<String>,
}

/// A login session: every token rotated from one login shares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    /// `family#<ulid>`: families live beside tokens in the same table.
    pub token_hash: String,
    pub user_id: String,
    pub username: String,
    /// The user's token version when the family started; logout-everywhere bumps it.
    pub token_version: u64,
    #[serde(default)]
    pub revoked: bool,
    /// Unix seconds; pushed forward on each rotation.
    pub expires_at: u64,
}

impl Family {
    /// The key of family `id`.
    pub fn key(id: &str) -> String {
        format!("family#{id}")
    }
}

/// What a rotation attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The parent was consumed and the child stored.
    Rotated,
    /// Someone consumed the parent first.
    AlreadyUsed,
    /// The family was revoked or belongs to an older token version.
    FamilyRevoked,
}

/// Storage of refresh tokens and their families.
pub trait RefreshTokens {
    /// Stores a new family and its first token together.
    fn start_family(
        &self,
        family: &Family,
        root: &RefreshRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A token by hash (strongly consistent).
    fn find_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<RefreshRecord>, StoreError>> + Send;

    /// A family by id (strongly consistent).
    fn find_family(&self, family_id: &str)
    -> impl Future<Output = Result<Option<Family>, StoreError>> + Send;

    /// Atomically: marks `parent` used (if unused), stores `child`, and extends the family if it
    /// is live and still at `token_version`.
    fn rotate(
        &self,
        parent: &RefreshRecord,
        child: &RefreshRecord,
        token_version: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes every token of a family.
    fn revoke_family(&self, family_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, secret)
    }

    fn deriver() -> ChildDeriver {
        ChildDeriver::new(&key(b"refresh-tests-secret-0123456789-abcdef"), None)
    }

    #[test]
    fn generated_tokens_are_256_bit_base64url_and_unique() {
        let (a, b) = (RefreshToken::generate(), RefreshToken::generate());
        assert_eq!(a.expose().len(), 43);
        assert!(RefreshToken::parse(a.expose()).is_some());
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn only_the_issued_shape_parses() {
        let valid = RefreshToken::generate();
        for bad in
            ["", "short", &format!("{}=", valid.expose()), &format!("{}A", valid.expose()), &"!".repeat(43)]
        {
            assert!(RefreshToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_child_is_stable_distinct_and_keyed() {
        let parent = RefreshToken::generate();
        let child = deriver().child_of(&parent);
        assert_eq!(child.expose(), deriver().child_of(&parent).expose());
        assert_ne!(child.expose(), parent.expose());
        assert!(RefreshToken::parse(child.expose()).is_some());
        let other = ChildDeriver::new(&key(b"another-secret-for-tests-0123456789-xyz"), None);
        assert_ne!(other.child_of(&parent).expose(), child.expose());
    }

    #[test]
    fn a_child_derived_before_a_key_rotation_is_still_found() {
        let parent = RefreshToken::generate();
        let before = deriver().child_of(&parent);
        let rotated = ChildDeriver::new(
            &key(b"the-next-key-after-rotation-0123456789-q"),
            Some(&key(b"refresh-tests-secret-0123456789-abcdef")),
        );
        assert_ne!(rotated.child_of(&parent).expose(), before.expose());
        assert_eq!(rotated.find_child(&parent, &before.hash()).unwrap().expose(), before.expose());
        assert!(deriver().find_child(&parent, "unrelated").is_none());
    }

    #[test]
    fn the_hash_is_sha256_and_the_token_never_prints() {
        let token = RefreshToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(token.hash(), "DwBzhbb51LfusnSGBa_hqYSgo7-j8BTQnip4TOnlzRo");
        assert_eq!(format!("{token:?}"), "RefreshToken([REDACTED])");
    }
}
