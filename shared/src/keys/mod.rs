//! Key material: the signing secrets, the ring of keys in force, when a new key starts signing
//! and when the old one stops verifying, and reloading them after a rotation.
//!
//! Where keys come from is a [`KeySource`]; [`secrets_manager`] is the deployed one, and
//! [`rotation`] makes new keys there.

pub mod rotation;
pub mod secrets_manager;

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use ring::{digest, hmac};
use secrecy::{ExposeSecret, SecretSlice};

use crate::{BoxError, clock::unix_seconds};

/// Shortest signing secret accepted, in bytes (HS256 wants at least its 256-bit output).
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest distinct byte values a secret must contain, to refuse `aaaa…` or a repeated word.
const MIN_DISTINCT_SECRET_BYTES: usize = 10;

/// How soon a verifier may reload its keys after the last load, when a token names a key it does
/// not know (a rotation it has not seen). Bounds Secrets Manager calls forged `kid`s can cause.
pub const RELOAD_ON_UNKNOWN_KID_AFTER: Duration = Duration::from_secs(60);
/// How long a new key only verifies after its creation, before it signs: longer than a verifier
/// that loaded its keys just before a rotation may wait to reload on an unknown `kid`, so no
/// verifier meets a token signed with a key it cannot load yet.
pub const KEY_ACTIVATION_DELAY: Duration = Duration::from_secs(2 * RELOAD_ON_UNKNOWN_KID_AFTER.as_secs());
/// How old any instance's keys may get before it reloads them, so signers and verifiers alike
/// follow rotations: a signer switches to the new key, and a verifier that loaded its keys
/// before a rotation learns when the new key was made, and so from when the old one may no
/// longer sign.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(600);
/// After a rotation, the previous key verifies only tokens issued within this time of the new
/// key's creation: the activation delay, then the longest a signer keeps its loaded keys. So a
/// leaked key stops working one token lifetime after that, not at the next rotation; every
/// verifier holds to it from its first reload after the rotation, within [`KEYS_MAX_AGE`], which
/// is before the bound is reached.
pub const PREVIOUS_KEY_ISSUES_FOR: Duration =
    Duration::from_secs(KEY_ACTIVATION_DELAY.as_secs() + KEYS_MAX_AGE.as_secs());

/// How long after the current key's creation the previous key can still verify a valid token:
/// one issued up to [`PREVIOUS_KEY_ISSUES_FOR`] after it lives `token_lifetime` more, with
/// `leeway` at each end, through its last second. Later there is no need to load it at all.
pub fn previous_key_verifies_for(token_lifetime: Duration, leeway: Duration) -> Duration {
    PREVIOUS_KEY_ISSUES_FOR + token_lifetime + 2 * leeway + Duration::from_secs(1)
}

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key is too short or too uniform to be random.
    #[error("the signing secret is too weak: {0}")]
    Weak(String),
    /// The source could not be read (or holds no key).
    #[error("could not read the signing keys")]
    Unreadable(#[source] BoxError),
}

/// Refuses a secret shorter than [`MIN_SECRET_BYTES`] or without some variety in it.
fn check_strength(bytes: &[u8]) -> Result<(), KeyError> {
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(KeyError::Weak(format!(
            "{} bytes, at least {MIN_SECRET_BYTES} are required",
            bytes.len()
        )));
    }
    let distinct = bytes.iter().collect::<HashSet<_>>().len();
    if distinct < MIN_DISTINCT_SECRET_BYTES {
        return Err(KeyError::Weak(format!("only {distinct} distinct byte values; generate it randomly")));
    }
    Ok(())
}

/// The HS256 key material; it never prints.
pub struct SigningSecret(SecretSlice<u8>);

impl SigningSecret {
    /// Accepts a secret of at least [`MIN_SECRET_BYTES`] with some variety in it.
    pub fn new(bytes: Vec<u8>) -> Result<Self, KeyError> {
        check_strength(&bytes)?;
        Ok(Self(bytes.into()))
    }

    /// The raw key bytes, for building HMAC keys.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl Clone for SigningSecret {
    fn clone(&self) -> Self {
        Self(self.expose().to_vec().into())
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

/// The server's own secret, apart from the token-signing keys and never rotated with them: it
/// keys the hashes of usernames in the audit trail and derives refresh-token children. Only the
/// functions that mint sessions hold it; verifiers never do.
pub struct ServerSecret {
    audit: hmac::Key,
    children: hmac::Key,
}

impl ServerSecret {
    /// A secret of at least [`MIN_SECRET_BYTES`] with some variety in it; each use gets a key
    /// of its own derived from it.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        check_strength(bytes)?;
        let root = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let derive = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, label).as_ref());
        Ok(Self {
            audit: derive(b"jwt-auth audit subjects/v1"),
            children: derive(b"jwt-auth refresh-token children/v2"),
        })
    }

    /// The key the audit trail hashes usernames with.
    pub fn audit_key(&self) -> &hmac::Key {
        &self.audit
    }

    /// The key refresh-token children are derived with.
    pub fn children_key(&self) -> &hmac::Key {
        &self.children
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([REDACTED])")
    }
}

/// The signing keys a source holds: the current one signs and verifies; the previous one, kept
/// after a rotation, only verifies, so rotating never logs anyone out early.
#[derive(Debug)]
pub struct SigningKeys {
    pub current: SigningSecret,
    pub previous: Option<SigningSecret>,
    /// When `current` was created, where the source records it (Secrets Manager). Until it is
    /// [`KEY_ACTIVATION_DELAY`] old, `previous` still signs.
    pub current_created: Option<SystemTime>,
}

impl SigningKeys {
    /// One key, no previous.
    pub fn single(current: SigningSecret) -> Self {
        Self { current, previous: None, current_created: None }
    }
}

/// Where a function reads its signing keys again after a rotation.
///
/// A trait, so that the Secrets Manager client is linked only into the functions that build
/// [`secrets_manager::SecretsManagerKeys`]: the others start without its code
/// (bench/ANALYSIS.md, cold start).
pub trait KeySource: Send + Sync {
    /// Reads the keys; each must be strong. The previous key is wanted only while it can still
    /// verify a valid token: until `previous_verifies_for` after the current key's creation.
    fn load(&self, previous_verifies_for: Duration) -> BoxFuture<'_, Result<SigningKeys, KeyError>>;
}

/// A boxed future, as [`KeySource`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The key id of a secret: a truncated hash, so it names the key without revealing it.
pub fn key_id(secret: &SigningSecret) -> String {
    let mut input = b"jwt-auth key id/v1:".to_vec();
    input.extend_from_slice(secret.expose());
    let digest = digest::digest(&digest::SHA256, &input);
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12])
}

/// One HS256 key, its id, and the forms it signs and verifies in.
pub struct Key {
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

    /// The id tokens name this key by.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as `jsonwebtoken` signs with.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The key as an HMAC key, for verifying and deriving.
    pub fn hmac(&self) -> &hmac::Key {
        &self.verifying
    }

    /// Whether a token issued at `iat` may carry this key's signature: always for the current key;
    /// for the previous one, only up to [`PREVIOUS_KEY_ISSUES_FOR`] after the current one's
    /// creation, give or take `leeway` seconds.
    pub fn trusted_for(&self, iat: u64, leeway: u64) -> bool {
        self.issued_until.is_none_or(|until| iat <= until + leeway)
    }
}

/// The keys in force: the current key, and the previous one while it may still verify; either
/// verifies by `kid`.
pub struct KeyRing {
    current: Key,
    previous: Option<Key>,
    /// From when (Unix seconds) `current` signs: [`KEY_ACTIVATION_DELAY`] after its creation,
    /// where the source records it; `previous` signs until then.
    current_signs_from: Option<u64>,
}

impl KeyRing {
    /// The previous key verifies only tokens issued up to [`PREVIOUS_KEY_ISSUES_FOR`] after the
    /// current one's creation.
    pub fn new(keys: &SigningKeys) -> Self {
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
    pub fn signer(&self, now: u64) -> (&Key, Option<&Key>) {
        match &self.previous {
            Some(previous) if self.current_signs_from.is_some_and(|from| now < from) => {
                (previous, Some(&self.current))
            }
            previous => (&self.current, previous.as_ref()),
        }
    }

    /// The key named `kid`, among ours only.
    pub fn find(&self, kid: &str) -> Option<&Key> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.kid == kid)
    }
}

/// The key ring in force, reloaded from its source after a rotation. A failed reload keeps the
/// keys already loaded.
pub struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    /// Where to reload keys from; `None` for fixed keys.
    source: Option<Box<dyn KeySource>>,
    /// What `source` is asked for the previous key.
    previous_verifies_for: Duration,
    pub(crate) loaded_at: Mutex<Instant>,
    /// Whether the last reload failed: until one succeeds, an unknown `kid` gets no verdict.
    reload_failed: AtomicBool,
}

impl Keys {
    /// `loaded` as the keys in force, reloadable from `source` (asking it for the previous key
    /// while it can verify a valid token: `previous_verifies_for`).
    pub fn new(
        loaded: &SigningKeys,
        source: Option<Box<dyn KeySource>>,
        previous_verifies_for: Duration,
    ) -> Self {
        Self {
            ring: RwLock::new(Arc::new(KeyRing::new(loaded))),
            source,
            previous_verifies_for,
            loaded_at: Mutex::new(Instant::now()),
            reload_failed: AtomicBool::new(false),
        }
    }

    /// The ring in force as of the last load.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the last reload failed.
    pub fn reload_failed(&self) -> bool {
        self.reload_failed.load(Ordering::Relaxed)
    }

    /// Whether the keys were loaded at least `age` ago.
    pub fn older_than(&self, age: Duration) -> bool {
        self.loaded_at.lock().unwrap_or_else(|e| e.into_inner()).elapsed() >= age
    }

    /// Reloads the keys if they were loaded longer than `min_age` ago and can be reloaded:
    /// `Ok(true)` if it did, `Ok(false)` if no reload was due (or the keys are fixed). A failed
    /// reload keeps the old keys, is logged, and is retried no sooner than `min_age`.
    pub async fn reload_if_older_than(&self, min_age: Duration) -> Result<bool, KeyError> {
        let Some(source) = &self.source else { return Ok(false) };
        {
            let mut loaded_at = self.loaded_at.lock().unwrap_or_else(|e| e.into_inner());
            if loaded_at.elapsed() < min_age {
                return Ok(false);
            }
            *loaded_at = Instant::now();
        }
        let loaded = source.load(self.previous_verifies_for).await;
        self.reload_failed.store(loaded.is_err(), Ordering::Relaxed);
        match loaded {
            Ok(keys) => {
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(KeyRing::new(&keys));
                tracing::info!("signing keys reloaded");
                Ok(true)
            }
            Err(error) => {
                tracing::error!(%error, "could not reload the signing keys; keeping the loaded ones");
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-only-secret-0123456789-abcdefghij";
    const NOW: u64 = 1_800_000_000;

    fn secret(bytes: &[u8]) -> SigningSecret {
        SigningSecret::new(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_short_secret_is_refused() {
        let err = SigningSecret::new(b"0123456789abcdefghij0123456789a".to_vec()).unwrap_err();
        assert!(matches!(err, KeyError::Weak(_)), "{err}");
    }

    #[test]
    fn a_word_repeated_to_length_is_refused() {
        let weak = "hunter2-".repeat(5);
        assert!(SigningSecret::new(weak.into_bytes()).is_err());
    }

    #[test]
    fn a_random_looking_secret_is_accepted_and_never_printed() {
        let secret = SigningSecret::new(b"Zx8vQ2mN7pL4kR9sT1wY6bC3dF5gH0jA".to_vec()).unwrap();
        assert_eq!(secret.expose().len(), 32);
        assert_eq!(format!("{secret:?}"), "SigningSecret([REDACTED])");
    }

    #[test]
    fn the_server_secret_must_be_strong_and_keys_each_use_apart() {
        assert!(matches!(ServerSecret::new(b"short"), Err(KeyError::Weak(_))));
        let server = ServerSecret::new(SECRET).unwrap();
        let (audit, children) =
            (hmac::sign(server.audit_key(), b"x"), hmac::sign(server.children_key(), b"x"));
        assert_ne!(audit.as_ref(), children.as_ref());
        assert_ne!(audit.as_ref(), hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), b"x").as_ref());
        assert_eq!(format!("{server:?}"), "ServerSecret([REDACTED])");
    }

    #[test]
    fn a_new_key_verifies_at_once_but_signs_only_once_it_is_past_the_activation_delay() {
        let (old, new) = (b"key-one-0123456789-abcdefghijklmnopqr".as_slice(), SECRET);
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        let keys =
            SigningKeys { current: secret(new), previous: Some(secret(old)), current_created: Some(created) };
        let ring = KeyRing::new(&keys);
        let signer = |at: SystemTime| ring.signer(unix_seconds(at)).0.kid.clone();
        assert_eq!(signer(created), key_id(&secret(old)));
        assert_eq!(signer(created + KEY_ACTIVATION_DELAY - Duration::from_millis(1)), key_id(&secret(old)));
        assert_eq!(signer(created + KEY_ACTIVATION_DELAY), key_id(&secret(new)));
        assert!(ring.find(&key_id(&secret(new))).is_some(), "the new key verifies at once");
        let first = SigningKeys { previous: None, ..keys };
        assert_eq!(KeyRing::new(&first).signer(NOW).0.kid, key_id(&secret(new)), "nothing else to sign with");
        assert!(KEY_ACTIVATION_DELAY > RELOAD_ON_UNKNOWN_KID_AFTER);
    }
}
