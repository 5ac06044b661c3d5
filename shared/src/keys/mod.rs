//! Key material: the RSA signing keys (private where a function signs, public where it only
//! verifies), the server secret, the ring of keys in force, when a new key starts signing and
//! when the old one stops verifying, and reloading them after a rotation.
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

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::EncodingKey;
use ring::{digest, hmac, signature};
use serde::{Deserialize, Serialize};

use crate::{BoxError, clock::unix_seconds};

/// Shortest server secret accepted, in bytes: at least the 256 bits of its HMAC-SHA-256 keys.
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest distinct byte values a secret must contain, to refuse `aaaa…` or a repeated word.
const MIN_DISTINCT_SECRET_BYTES: usize = 10;
/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 asks for 2048 for RS256).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: a verification's cost grows with the key.
pub const MAX_RSA_BITS: usize = 4096;
/// The one signing algorithm, as JOSE names it.
pub const ALGORITHM: &str = "RS256";

/// How soon a verifier may reload its keys after the last load, when a token names a key it does
/// not know (a rotation it has not seen). Bounds Secrets Manager calls forged `kid`s can cause.
pub const RELOAD_ON_UNKNOWN_KID_AFTER: Duration = Duration::from_secs(60);
/// How old any instance's keys may get before it reloads them, so signers and verifiers alike
/// follow rotations: a signer switches to the new key, and a verifier that loaded its keys
/// before a rotation learns when the new key was made, and so from when the old one may no
/// longer sign.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(600);
/// How long a client may cache our published key set (`Cache-Control` of
/// `/.well-known/jwks.json`).
pub const PUBLISHED_MAX_AGE: Duration = Duration::from_secs(300);
/// The longest a rotation may take from making a key (`createSecret`) to promoting it
/// (`finishSecret`); an older pending key is never promoted.
pub const MAX_PENDING_AGE: Duration = Duration::from_secs(300);
/// The longest an operator may say verifiers outside the stack cache the key set: a day.
pub const OUTSIDE_CACHE_RANGE: std::ops::RangeInclusive<u64> = 0..=86_400;
/// How long verifiers outside the stack cache the key set unless configured
/// (`JWKS_CACHE_SECONDS`): two hours, API Gateway's JWT authorizer's longest.
pub const DEFAULT_OUTSIDE_CACHE: Duration = Duration::from_secs(7_200);

/// When a new key starts signing and how long the one it replaces is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTiming {
    /// How long a new key is published (and verifies) after its creation before it signs.
    pub activation_delay: Duration,
}

impl KeyTiming {
    /// Publishes a new key for longer than any verifier's cache of the key set can hide it:
    /// `outside_cache` (what the operator declares for verifiers outside the stack), plus the
    /// longest a rotation takes to promote the key it made, our key-set function to load it, and
    /// clients to keep our answer. That is also longer than a verifier of ours waits to reload on
    /// an unknown `kid`, so none meets a token signed with a key it cannot load yet.
    pub fn for_outside_caches(outside_cache: Duration) -> Self {
        Self { activation_delay: outside_cache + MAX_PENDING_AGE + KEYS_MAX_AGE + PUBLISHED_MAX_AGE }
    }

    /// After a rotation, the previous key verifies only tokens issued within this time of the
    /// new key's creation: the activation delay, then the longest a signer keeps its loaded
    /// keys. So a leaked key stops working one token lifetime after that, not at the next
    /// rotation; every verifier holds to it from its first reload after the rotation, within
    /// [`KEYS_MAX_AGE`], which is before the bound is reached.
    pub fn previous_issues_for(&self) -> Duration {
        self.activation_delay + KEYS_MAX_AGE
    }

    /// How long after the current key's creation the previous key can still verify a valid
    /// token: one issued up to [`Self::previous_issues_for`] after it lives `token_lifetime`
    /// more, with `leeway` at each end, through its last second. Later there is no need to load
    /// (or publish) it at all.
    pub fn previous_verifies_for(&self, token_lifetime: Duration, leeway: Duration) -> Duration {
        self.previous_issues_for() + token_lifetime + 2 * leeway + Duration::from_secs(1)
    }
}

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A secret is too short or too uniform to be random.
    #[error("the secret is too weak: {0}")]
    Weak(String),
    /// A key is not an RSA key of [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] in the expected form.
    #[error("the key is not usable: {0}")]
    Invalid(&'static str),
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

/// The public half of a signing key: all a verifier holds. Named by its RFC 7638 thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    /// Modulus and exponent, big-endian without leading zeros.
    n: Vec<u8>,
    e: Vec<u8>,
}

/// An RSA public key as a JWK (RFC 7517), the form it is published and stored in.
#[derive(Debug, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    pub n: String,
    pub e: String,
}

impl PublicKey {
    /// A public key from its modulus and exponent, within [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = n.first().map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::Invalid("the RSA modulus must be 2048 to 4096 bits"));
        }
        let exponent =
            (e.len() <= 4).then(|| e.iter().fold(0u64, |value, byte| value << 8 | u64::from(*byte)));
        if !exponent.is_some_and(|e| e >= 3 && e % 2 == 1) {
            return Err(KeyError::Invalid("the RSA exponent must be odd, at least 3 and at most 32 bits"));
        }
        let thumbprint = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n));
        let kid = b64(digest::digest(&digest::SHA256, thumbprint.as_bytes()).as_ref());
        Ok(Self { kid, n: n.to_vec(), e: e.to_vec() })
    }

    /// Parses a JWK: RSA, for signatures with RS256 if it says; a `kid` it carries must be its
    /// own thumbprint.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|_| KeyError::Invalid("not a JWK"))?;
        if jwk.kty != "RSA"
            || jwk.alg.as_deref().is_some_and(|a| a != ALGORITHM)
            || jwk.use_.as_deref().is_some_and(|u| u != "sig")
        {
            return Err(KeyError::Invalid("not an RSA signing key for RS256"));
        }
        let decode =
            |v: &str| URL_SAFE_NO_PAD.decode(v).map_err(|_| KeyError::Invalid("n or e is not base64url"));
        let key = Self::from_components(&decode(&jwk.n)?, &decode(&jwk.e)?)?;
        if jwk.kid.as_deref().is_some_and(|kid| kid != key.kid) {
            return Err(KeyError::Invalid("the kid is not the key's thumbprint"));
        }
        Ok(key)
    }

    /// The key as a JWK, with `kid`, `alg` and `use`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            use_: Some("sig".into()),
            alg: Some(ALGORITHM.into()),
            kid: Some(self.kid.clone()),
            n: b64(&self.n),
            e: b64(&self.e),
        }
    }

    /// The key's id: its RFC 7638 JWK thumbprint (SHA-256), base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let key = signature::RsaPublicKeyComponents { n: &self.n, e: &self.e };
        key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.kid)
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key: an RSA private key (PKCS#8), its public half, and the form `jsonwebtoken`
/// signs with. It never prints.
#[derive(Clone)]
pub struct PrivateKey {
    public: PublicKey,
    encoding: EncodingKey,
}

impl PrivateKey {
    /// Parses a PEM `PRIVATE KEY` (PKCS#8, as `openssl genpkey` writes it) holding an RSA key of
    /// [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let body = pem
            .trim()
            .strip_prefix("-----BEGIN PRIVATE KEY-----")
            .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
            .ok_or(KeyError::Invalid("not a PEM PRIVATE KEY (PKCS#8)"))?;
        let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD.decode(base64).map_err(|_| KeyError::Invalid("the PEM body is not base64"))?;
        Self::from_pkcs8(&der)
    }

    /// Parses a DER PKCS#8 RSA private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair = signature::RsaKeyPair::from_pkcs8(der)
            .map_err(|_| KeyError::Invalid("not an RSA private key ring accepts"))?;
        let components = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        let public = PublicKey::from_components(&components.n, &components.e)?;
        Ok(Self { public, encoding: EncodingKey::from_rsa_der(der) })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key as `jsonwebtoken` signs with.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, [REDACTED])", self.public.kid)
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

/// Size of the keys [`generate`] makes, in bits.
pub const GENERATED_RSA_BITS: usize = 2048;

/// A fresh RSA private key of [`GENERATED_RSA_BITS`], as PKCS#8 PEM: what rotation and
/// `make dev` make. Only with the `keygen` feature, so only what generates keys links it.
#[cfg(feature = "keygen")]
pub fn generate() -> Result<String, BoxError> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, GENERATED_RSA_BITS)?;
    Ok(key.to_pkcs8_pem(LineEnding::LF)?.to_string())
}

/// A key as a source holds it: a signer's private key, or a verifier's public one.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    Private(PrivateKey),
    Public(PublicKey),
}

impl KeyMaterial {
    /// The public half, which every holder has.
    pub fn public(&self) -> &PublicKey {
        match self {
            Self::Private(key) => key.public(),
            Self::Public(key) => key,
        }
    }
}

/// The keys a source holds: the current one and, after a rotation, the previous one, which
/// signs until the current one is past its activation delay ([`KeyTiming`]) and then only
/// verifies, so
/// rotating never logs anyone out early.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub current: KeyMaterial,
    pub previous: Option<KeyMaterial>,
    /// When `current` was created, where the source records it (Secrets Manager).
    pub current_created: Option<SystemTime>,
}

impl KeySet {
    /// One key, no previous.
    pub fn single(current: KeyMaterial) -> Self {
        Self { current, previous: None, current_created: None }
    }

    /// The same keys with their private halves dropped, as a verifier holds them.
    pub fn public_only(&self) -> Self {
        let public = |key: &KeyMaterial| KeyMaterial::Public(key.public().clone());
        Self {
            current: public(&self.current),
            previous: self.previous.as_ref().map(public),
            current_created: self.current_created,
        }
    }
}

/// Where a function reads its signing keys again after a rotation.
///
/// A trait, so that the Secrets Manager client is linked only into the functions that build
/// [`secrets_manager::SecretsManagerKeys`]: the others start without its code
/// (bench/ANALYSIS.md, cold start).
pub trait KeySource: Send + Sync {
    /// Reads the keys; each must be usable. The previous key is wanted only while it can still
    /// verify a valid token: until `previous_verifies_for` after the current key's creation.
    fn load(&self, previous_verifies_for: Duration) -> BoxFuture<'_, Result<KeySet, KeyError>>;
}

/// A boxed future, as [`KeySource`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One key in force: its public half, its private half where this instance signs, and the
/// tokens it is trusted for.
pub struct Key {
    material: KeyMaterial,
    /// The latest `iat` (Unix seconds) it is trusted for, once a newer key replaced it.
    issued_until: Option<u64>,
}

impl Key {
    /// The id tokens name this key by.
    pub fn kid(&self) -> &str {
        self.material.public().kid()
    }

    /// The public half, which verifies.
    pub fn public(&self) -> &PublicKey {
        self.material.public()
    }

    /// The private half, where this instance holds it.
    pub fn private(&self) -> Option<&PrivateKey> {
        match &self.material {
            KeyMaterial::Private(key) => Some(key),
            KeyMaterial::Public(_) => None,
        }
    }

    /// Whether a token issued at `iat` may carry this key's signature: always for the current key;
    /// for the previous one, only up to [`KeyTiming::previous_issues_for`] after the current one's
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
    /// From when (Unix seconds) `current` signs: its activation delay after its creation,
    /// where the source records it; `previous` signs until then.
    current_signs_from: Option<u64>,
}

impl KeyRing {
    /// The previous key verifies only tokens issued up to [`KeyTiming::previous_issues_for`] after the
    /// current one's creation.
    pub fn new(keys: &KeySet, timing: KeyTiming) -> Self {
        let created = keys.current_created.map(unix_seconds);
        let previous = keys.previous.as_ref().map(|material| Key {
            material: material.clone(),
            issued_until: created.map(|c| c + timing.previous_issues_for().as_secs()),
        });
        let current_signs_from = created.map(|c| c + timing.activation_delay.as_secs());
        let current = Key { material: keys.current.clone(), issued_until: None };
        Self { current, previous, current_signs_from }
    }

    /// The key that signs at `now`, then the other one in force: the current one signs, or the
    /// previous one while the current is younger than its activation delay.
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
        self.keys().find(|k| k.kid() == kid)
    }

    /// Every key in force, the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

/// The key ring in force, reloaded from its source after a rotation. A failed reload keeps the
/// keys already loaded.
pub struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    /// Where to reload keys from; `None` for fixed keys.
    source: Option<Box<dyn KeySource>>,
    /// When keys start signing and how long the previous one is trusted.
    timing: KeyTiming,
    /// What `source` is asked for the previous key.
    previous_verifies_for: Duration,
    pub(crate) loaded_at: Mutex<Instant>,
    /// Whether the last reload failed: until one succeeds, an unknown `kid` gets no verdict.
    reload_failed: AtomicBool,
}

impl Keys {
    /// `loaded` as the keys in force with `timing`, reloadable from `source` (asking it for the
    /// previous key while it can verify a valid token: `previous_verifies_for`).
    pub fn new(
        loaded: &KeySet,
        source: Option<Box<dyn KeySource>>,
        timing: KeyTiming,
        previous_verifies_for: Duration,
    ) -> Self {
        Self {
            ring: RwLock::new(Arc::new(KeyRing::new(loaded, timing))),
            source,
            timing,
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
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) =
                    Arc::new(KeyRing::new(&keys, self.timing));
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

/// Test-only RSA keys (`shared/tests/fixtures`), never used outside tests.
#[cfg(test)]
pub(crate) mod test_keys {
    use super::PrivateKey;

    pub const PEM: [&str; 3] = [
        include_str!("../../tests/fixtures/test-only-rsa-1.pem"),
        include_str!("../../tests/fixtures/test-only-rsa-2.pem"),
        include_str!("../../tests/fixtures/test-only-rsa-3.pem"),
    ];

    /// Test key `i` (0, 1 or 2).
    pub fn private(i: usize) -> PrivateKey {
        PrivateKey::from_pem(PEM[i]).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-only-secret-0123456789-abcdefghij";
    const NOW: u64 = 1_800_000_000;

    fn key(i: usize) -> KeyMaterial {
        KeyMaterial::Private(test_keys::private(i))
    }

    #[cfg(feature = "keygen")]
    #[test]
    fn generated_keys_are_fresh_pkcs8_rsa_keys_of_2048_bits() {
        let (one, two) = (
            PrivateKey::from_pem(&generate().unwrap()).unwrap(),
            PrivateKey::from_pem(&generate().unwrap()).unwrap(),
        );
        assert_ne!(one.public().kid(), two.public().kid());
        let n = URL_SAFE_NO_PAD.decode(one.public().to_jwk().n).unwrap();
        assert_eq!(n.len() * 8, GENERATED_RSA_BITS);
    }

    #[test]
    fn a_pkcs8_pem_key_parses_and_never_prints() {
        let key = test_keys::private(0);
        assert_eq!(key.public().kid().len(), 43, "a SHA-256 thumbprint, base64url");
        let printed = format!("{key:?}");
        assert!(printed.contains("[REDACTED]") && !printed.contains("MII"), "{printed}");
    }

    #[test]
    fn anything_but_an_rsa_pkcs8_key_of_2048_to_4096_bits_is_refused() {
        assert!(matches!(PrivateKey::from_pem("not a key"), Err(KeyError::Invalid(_))));
        let garbled = test_keys::PEM[0].replace("MII", "MIJ");
        assert!(matches!(PrivateKey::from_pem(&garbled), Err(KeyError::Invalid(_))));
        let jwk = test_keys::private(0).public().to_jwk();
        let short = Jwk {
            n: b64(&URL_SAFE_NO_PAD.decode(&jwk.n).unwrap()[..128]),
            kid: None,
            ..test_keys::private(0).public().to_jwk()
        };
        let short = serde_json::to_string(&short).unwrap();
        assert!(matches!(PublicKey::from_jwk(&short), Err(KeyError::Invalid(_))), "1024 bits");
        for (n, e) in
            [("", jwk.e.as_str()), ("AAAA", jwk.e.as_str()), (jwk.n.as_str(), "AQ"), (jwk.n.as_str(), "AAE")]
        {
            let odd = serde_json::json!({"kty": "RSA", "n": n, "e": e}).to_string();
            assert!(matches!(PublicKey::from_jwk(&odd), Err(KeyError::Invalid(_))), "n {n:.8}, e {e}");
        }
    }

    #[test]
    fn a_public_key_round_trips_through_its_jwk_and_its_kid_is_the_rfc_7638_thumbprint() {
        let public = test_keys::private(1).public().clone();
        let jwk = serde_json::to_string(&public.to_jwk()).unwrap();
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), public);
        let value: serde_json::Value = serde_json::from_str(&jwk).unwrap();
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            value["e"].as_str().unwrap(),
            value["n"].as_str().unwrap()
        );
        let thumbprint = b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
        assert_eq!(value["kid"], thumbprint.as_str());
        assert_eq!((value["alg"].as_str(), value["use"].as_str()), (Some("RS256"), Some("sig")));
        let lying = jwk.replace(&thumbprint, "another-kid");
        assert!(matches!(PublicKey::from_jwk(&lying), Err(KeyError::Invalid(_))));
        let other_alg = jwk.replace("RS256", "RS512");
        assert!(matches!(PublicKey::from_jwk(&other_alg), Err(KeyError::Invalid(_))));
    }

    #[test]
    fn the_server_secret_must_be_strong_and_keys_each_use_apart() {
        assert!(matches!(ServerSecret::new(b"short"), Err(KeyError::Weak(_))));
        assert!(matches!(ServerSecret::new("hunter2-".repeat(5).as_bytes()), Err(KeyError::Weak(_))));
        let server = ServerSecret::new(SECRET).unwrap();
        let (audit, children) =
            (hmac::sign(server.audit_key(), b"x"), hmac::sign(server.children_key(), b"x"));
        assert_ne!(audit.as_ref(), children.as_ref());
        assert_ne!(audit.as_ref(), hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), b"x").as_ref());
        assert_eq!(format!("{server:?}"), "ServerSecret([REDACTED])");
    }

    #[test]
    fn a_new_key_verifies_at_once_but_signs_only_once_it_is_past_the_activation_delay() {
        let (old, new) = (key(0), key(1));
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        let keys =
            KeySet { current: new.clone(), previous: Some(old.clone()), current_created: Some(created) };
        let timing = KeyTiming::for_outside_caches(DEFAULT_OUTSIDE_CACHE);
        let ring = KeyRing::new(&keys, timing);
        let signer = |at: SystemTime| ring.signer(unix_seconds(at)).0.kid().to_owned();
        let delay = timing.activation_delay;
        assert_eq!(
            delay,
            Duration::from_secs(2 * 3600 + 20 * 60),
            "two hours' caches, the promotion, our reload and max-age"
        );
        assert_eq!(signer(created), old.public().kid());
        assert_eq!(signer(created + delay - Duration::from_millis(1)), old.public().kid());
        assert_eq!(signer(created + delay), new.public().kid());
        assert!(ring.find(new.public().kid()).is_some(), "the new key verifies at once");
        let first = KeySet { previous: None, ..keys.clone() };
        assert_eq!(
            KeyRing::new(&first, timing).signer(NOW).0.kid(),
            new.public().kid(),
            "nothing else to sign with"
        );
        let verifier = KeyRing::new(&keys.public_only(), timing);
        assert!(verifier.keys().all(|k| k.private().is_none()), "a verifier holds public keys only");
        let no_outside_caches = KeyTiming::for_outside_caches(Duration::ZERO).activation_delay;
        assert!(
            no_outside_caches > 2 * RELOAD_ON_UNKNOWN_KID_AFTER,
            "longer than our verifiers take to reload"
        );
    }
}
