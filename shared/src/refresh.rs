//! Sessions and their refresh tokens: opaque 256-bit values, stored only as SHA-256 hashes,
//! rotated on every use.
//!
//! Each login starts a session, the *family* of every token rotated from it; its id is the `sid`
//! of its access tokens. Refreshing consumes the presented token atomically and mints its child.
//! A token presented again within the grace window (a client retry or race) gets the same child
//! back; later, it is treated as stolen and the whole family is revoked. The child is derived as
//! HMAC(key, parent), so the same child can be handed out again without ever storing a usable
//! token.
//!
//! A session ends when it is revoked (logout, reuse, ending it from the list), when its user's
//! token version moves on (logout everywhere), when it goes unused for the refresh lifetime, or
//! at its absolute end, a fixed time after its login however often it refreshes.

use std::{future::Future, ops::RangeInclusive, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{digest, hmac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{keys::ServerSecret, store::StoreError, users::Account};

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
/// Default absolute lifetime of a session (30 days from its login).
pub const DEFAULT_SESSION_MAX: Duration = Duration::from_secs(30 * 86_400);
/// The absolute lifetimes that may be configured, in seconds: an hour to a year.
pub const SESSION_MAX_RANGE: RangeInclusive<u64> = 3_600..=31_536_000;
/// Longest user agent kept with a session, in characters.
const MAX_USER_AGENT_CHARS: usize = 256;

/// How long sessions and their refresh tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSettings {
    /// Idle timeout: a refresh token's lifetime, renewed by each rotation
    /// (`REFRESH_TOKEN_TTL_SECONDS`: [`DEFAULT_REFRESH_TTL`], within [`REFRESH_TTL_RANGE`]).
    pub lifetime: Duration,
    /// `REFRESH_GRACE_SECONDS` ([`DEFAULT_GRACE`], within [`GRACE_RANGE`]).
    pub grace: Duration,
    /// Absolute lifetime: a session ends this long after its login, however often it refreshes
    /// (`SESSION_MAX_SECONDS`: [`DEFAULT_SESSION_MAX`], within [`SESSION_MAX_RANGE`]).
    pub session_max: Duration,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self { lifetime: DEFAULT_REFRESH_TTL, grace: DEFAULT_GRACE, session_max: DEFAULT_SESSION_MAX }
    }
}

impl RefreshSettings {
    /// Until when a token issued at `now` in a session ending at `session_end` is valid: the idle
    /// timeout, cut short by the session's end.
    pub fn token_expiry(&self, now: u64, session_end: u64) -> u64 {
        (now + self.lifetime.as_secs()).min(session_end)
    }
}

/// Where a session was used from, as API Gateway saw the request: never trusted for a decision,
/// shown to the user so they can tell their sessions apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSeen {
    /// The source address of the connection (`requestContext.http.sourceIp`).
    pub ip: String,
    /// The `User-Agent`, cut to its first 256 characters.
    pub user_agent: String,
}

impl ClientSeen {
    pub fn new(ip: &str, user_agent: &str) -> Self {
        Self { ip: ip.to_owned(), user_agent: user_agent.chars().take(MAX_USER_AGENT_CHARS).collect() }
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

/// Derives each token's child with the server secret's key, so a retry within the grace window
/// gets the same child again; signing-key rotations change no child.
pub struct ChildDeriver(hmac::Key);

impl ChildDeriver {
    /// Children by `server`'s key.
    pub fn new(server: &ServerSecret) -> Self {
        Self(server.children_key().clone())
    }

    /// The child `parent` rotates to.
    pub fn child_of(&self, parent: &RefreshToken) -> RefreshToken {
        Self::derive(&self.0, parent)
    }

    /// The child `parent` rotated to, if it is the one whose hash is `child_hash`.
    pub fn find_child(&self, parent: &RefreshToken, child_hash: &str) -> Option<RefreshToken> {
        Some(self.child_of(parent)).filter(|child| child.hash() == child_hash)
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

/// A login session: every token rotated from one login shares it. Times are Unix seconds.
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
    /// When the session ends unless it refreshes first; each rotation pushes it forward, never
    /// past `ends_at`. DynamoDB TTL deletes the item after it.
    pub expires_at: u64,
    /// The absolute end, however often the session refreshes. Absent on a session started
    /// before sessions had one, until its first refresh (see [`Family::absolute_end`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<ClientSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_from: Option<ClientSeen>,
    /// The owner's id again, as the key sessions are listed by; only family items carry it.
    /// Absent on a session started before the list existed, until its next refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_user: Option<String>,
}

impl Family {
    /// The key of family `id`.
    pub fn key(id: &str) -> String {
        format!("family#{id}")
    }

    /// A new session of `user`, started at `now` from `from`, ending at the latest after the
    /// settings' absolute lifetime.
    pub fn start(id: &str, user: &Account, now: u64, from: ClientSeen, settings: &RefreshSettings) -> Self {
        let ends_at = now + settings.session_max.as_secs();
        Self {
            token_hash: Self::key(id),
            user_id: user.user_id.clone(),
            username: user.username.as_str().to_owned(),
            token_version: user.token_version,
            revoked: false,
            expires_at: settings.token_expiry(now, ends_at),
            ends_at: Some(ends_at),
            created_at: Some(now),
            last_used_at: Some(now),
            created_from: Some(from.clone()),
            last_used_from: Some(from),
            session_user: Some(user.user_id.clone()),
        }
    }

    /// The session's id: the `sid` of its access tokens.
    pub fn id(&self) -> &str {
        self.token_hash.strip_prefix("family#").unwrap_or(&self.token_hash)
    }

    /// When the session ends at the latest. One started before sessions had an absolute end
    /// gets the end of the refresh window it had then: it ends at most one refresh lifetime
    /// after the upgrade, and its first refresh stores that end.
    pub fn absolute_end(&self) -> u64 {
        self.ends_at.unwrap_or(self.expires_at)
    }

    /// Whether the session is live at `now` for `user_id` at token version `token_version`.
    pub fn is_live(&self, user_id: &str, token_version: u64, now: u64) -> bool {
        !self.revoked
            && self.user_id == user_id
            && self.token_version == token_version
            && self.expires_at > now
            && self.absolute_end() > now
    }
}

/// One use of a session by a refresh: when, from where, and how long it lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUse {
    /// The user's token version, which the family must still have.
    pub token_version: u64,
    /// Unix milliseconds.
    pub at_ms: u64,
    pub from: ClientSeen,
    /// The family's new `expires_at` (the child token's).
    pub expires_at: u64,
    /// The absolute end, stored if the family has none yet (a session from before the upgrade).
    pub ends_at: u64,
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
pub trait RefreshTokens: FindSession {
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

    /// Atomically: marks `parent` used (if unused), stores `child`, and records the use in the
    /// family if it is live (not revoked, still at the use's token version, before its absolute
    /// end).
    fn rotate(
        &self,
        parent: &RefreshRecord,
        child: &RefreshRecord,
        session: &SessionUse,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes every token of a family.
    fn revoke_family(&self, family_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Looks a session up by id (strongly consistent): all the authorizer reads of it.
pub trait FindSession {
    fn find_session(&self, id: &str) -> impl Future<Output = Result<Option<Family>, StoreError>> + Send;
}

impl<T: FindSession + Sync> FindSession for &T {
    fn find_session(&self, id: &str) -> impl Future<Output = Result<Option<Family>, StoreError>> + Send {
        (**self).find_session(id)
    }
}

/// Lists a user's sessions, live or not; a moment after a change the list may not show it yet.
pub trait ListSessions {
    fn sessions_of(&self, user_id: &str) -> impl Future<Output = Result<Vec<Family>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &[u8] = b"refresh-tests-server-secret-0123456789";

    fn with_server(server: &[u8]) -> ChildDeriver {
        ChildDeriver::new(&ServerSecret::new(server).unwrap())
    }

    fn deriver() -> ChildDeriver {
        with_server(SERVER)
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
        let other = with_server(b"another-secret-for-tests-0123456789-xyz");
        assert_ne!(other.child_of(&parent).expose(), child.expose());
        assert_eq!(deriver().find_child(&parent, &child.hash()).unwrap().expose(), child.expose());
        assert!(deriver().find_child(&parent, "unrelated").is_none());
    }

    #[test]
    fn the_hash_is_sha256_and_the_token_never_prints() {
        let token = RefreshToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(token.hash(), "DwBzhbb51LfusnSGBa_hqYSgo7-j8BTQnip4TOnlzRo");
        assert_eq!(format!("{token:?}"), "RefreshToken([REDACTED])");
    }

    fn joe() -> Account {
        serde_json::from_value(serde_json::json!({
            "username": "joe", "user_id": "u1", "created_at": "2026-11-28T23:59:59Z", "token_version": 2,
        }))
        .unwrap()
    }

    #[test]
    fn a_session_is_live_until_revoked_outdated_idle_or_past_its_absolute_end() {
        let settings = RefreshSettings {
            lifetime: Duration::from_secs(100),
            session_max: Duration::from_secs(250),
            ..Default::default()
        };
        let session = Family::start("s1", &joe(), 1_000, ClientSeen::default(), &settings);
        assert_eq!((session.expires_at, session.absolute_end()), (1_100, 1_250));
        assert!(session.is_live("u1", 2, 1_099));
        assert!(!session.is_live("u1", 2, 1_100), "idle for the refresh lifetime");
        assert!(!session.is_live("u1", 3, 1_000), "the user logged out everywhere");
        assert!(!session.is_live("u2", 2, 1_000), "someone else's");
        assert!(!Family { revoked: true, ..session.clone() }.is_live("u1", 2, 1_000));
        let refreshed =
            Family { expires_at: settings.token_expiry(1_200, session.absolute_end()), ..session };
        assert_eq!(refreshed.expires_at, 1_250, "a refresh never extends past the absolute end");
        assert!(!refreshed.is_live("u1", 2, 1_250));
    }

    #[test]
    fn a_session_from_before_absolute_ends_ends_with_its_refresh_window() {
        let legacy = Family {
            ends_at: None,
            ..Family::start("s1", &joe(), 1_000, ClientSeen::default(), &RefreshSettings::default())
        };
        assert_eq!(legacy.absolute_end(), legacy.expires_at);
        assert_eq!(legacy.id(), "s1");
    }

    #[test]
    fn what_is_kept_of_a_client_is_bounded() {
        let seen = ClientSeen::new("2001:db8::1", &"agent ".repeat(100));
        assert_eq!((seen.ip.as_str(), seen.user_agent.chars().count()), ("2001:db8::1", 256));
    }
}
