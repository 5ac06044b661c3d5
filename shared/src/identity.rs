//! Who is calling: the bearer of a verified access token of a live account, as the authorizer
//! decides it and passes it on.

use std::{
    collections::HashMap,
    ops::RangeInclusive,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::{Map, Value};

use crate::{
    refresh::FindSession,
    store::StoreError,
    tokens::{Claims, TokenError, TokenService},
    users::{FindAccount, Username},
};

/// How long a warm verifier reuses a finding that an account is live at a token version, unless
/// configured (`ACCOUNT_CHECK_CACHE_SECONDS`). Revocation reaches a warm instance within it.
pub const DEFAULT_ACCOUNT_CHECK_CACHE: Duration = Duration::from_secs(10);
/// The reuse times that may be configured, in seconds: none (read every time) to five minutes.
pub const ACCOUNT_CHECK_CACHE_RANGE: RangeInclusive<u64> = 0..=300;

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

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's stable id (the token's `sub`).
    pub user_id: String,
    pub username: String,
    /// The session the token belongs to (its `sid`); `None` for a token issued before access
    /// tokens named their session.
    pub session_id: Option<String>,
    /// The user's token version the token carries (`ver`); `None` from an authorizer decision
    /// cached before the authorizer passed it on.
    pub token_version: Option<u64>,
    /// The token's `exp`, so a cached authorizer decision cannot outlive the token.
    pub expires_at: u64,
    /// What the token grants (its `scope`): space-separated, empty for nothing.
    pub scope: String,
}

impl From<Claims> for Identity {
    fn from(claims: Claims) -> Self {
        Self {
            user_id: claims.sub,
            username: claims.username,
            session_id: Some(claims.sid),
            token_version: Some(claims.ver),
            expires_at: claims.exp,
            scope: claims.scope,
        }
    }
}

impl Identity {
    /// The context the authorizer returns to API Gateway for this identity.
    pub fn to_authorizer_context(&self) -> Value {
        let mut context = serde_json::json!({
            "sub": self.user_id, "username": self.username, "exp": self.expires_at, "scope": self.scope,
        });
        if let Some(sid) = &self.session_id {
            context["sid"] = sid.as_str().into();
        }
        if let Some(version) = self.token_version {
            context["ver"] = version.into();
        }
        context
    }

    /// Reads the context an authorizer attached; `None` if absent or incomplete.
    pub fn from_authorizer_context(context: &Map<String, Value>) -> Option<Self> {
        let text = |key: &str| context.get(key)?.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let number = |key: &str| match context.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        Some(Self {
            user_id: text("sub")?,
            username: text("username")?,
            session_id: text("sid"),
            token_version: number("ver"),
            expires_at: number("exp")?,
            scope: context.get("scope").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })
    }

    /// Whether the caller's token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why an access token was refused.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the account is gone, disabled, or its tokens were revoked")]
    Revoked,
    #[error("the token's session has ended")]
    SessionEnded,
    #[error("could not check the account")]
    Store(#[from] StoreError),
}

impl Rejection {
    /// No verdict on the token: the account or the keys could not be read. A retry may succeed,
    /// so this must not be answered (or cached) as a denial.
    pub fn is_undecided(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Token(TokenError::KeysUnavailable))
    }
}

/// Verifies access tokens completely: signature and claims, then that the account still exists,
/// is enabled, and has not revoked its tokens since this one was issued, and that the token's
/// session has not ended.
pub struct Authenticator<U, S> {
    tokens: TokenService,
    users: U,
    sessions: S,
    live: LiveFindings,
}

impl<U: FindAccount, S: FindSession> Authenticator<U, S> {
    /// An authenticator that reads the account and the session on every check.
    pub fn new(tokens: TokenService, users: U, sessions: S) -> Self {
        Self { tokens, users, sessions, live: LiveFindings::new(Duration::ZERO) }
    }

    /// Reuses a live-account or live-session finding for `fresh_for` (see
    /// `ACCOUNT_CHECK_CACHE_SECONDS`).
    pub fn caching_account_checks(mut self, fresh_for: Duration) -> Self {
        self.live = LiveFindings::new(fresh_for);
        self
    }

    /// The caller behind `token`, or why not. What no recent finding answers is read: the
    /// account and the session, side by side.
    #[tracing::instrument(name = "authenticate", skip_all)]
    pub async fn verify(&self, token: &str, now: u64) -> Result<Identity, Rejection> {
        let claims = self.tokens.verify_following_rotation(token, now).await?;
        let account_known = self.live.vouches_for_account(&claims);
        let session = Some(claims.sid.as_str()).filter(|sid| !self.live.vouches_for_session(sid));
        if account_known && session.is_none() {
            return Ok(Identity::from(claims));
        }
        let username = Username::parse(&claims.username).map_err(|_| Rejection::Revoked)?;
        let read_user = async {
            if account_known { Ok(None) } else { self.users.find_account(&username).await.map(Some) }
        };
        let read_session = async {
            match session {
                Some(sid) => self.sessions.find_session(sid).await.map(Some),
                None => Ok(None),
            }
        };
        let (user, found) = tokio::try_join!(read_user, read_session)?;
        if let Some(user) = user {
            let user = user.ok_or(Rejection::Revoked)?;
            if user.user_id != claims.sub || user.disabled || user.token_version != claims.ver {
                return Err(Rejection::Revoked);
            }
            self.live.remember_account(&claims);
        }
        if let (Some(sid), Some(found)) = (session, found) {
            if !found.is_some_and(|f| f.is_live(&claims.sub, claims.ver, now)) {
                return Err(Rejection::SessionEnded);
            }
            self.live.remember_session(sid);
        }
        Ok(Identity::from(claims))
    }
}

/// Accounts and sessions recently found live: an account by user id, at which token version
/// and when; a session by id, and when.
struct LiveFindings {
    fresh_for: Duration,
    accounts: Mutex<HashMap<String, (u64, Instant)>>,
    sessions: Mutex<HashMap<String, Instant>>,
}

impl LiveFindings {
    /// Entries kept in each map before it starts over, bounding memory under many users.
    const MAX_ENTRIES: usize = 10_000;

    fn new(fresh_for: Duration) -> Self {
        Self { fresh_for, accounts: Mutex::default(), sessions: Mutex::default() }
    }

    fn vouches_for_account(&self, claims: &Claims) -> bool {
        !self.fresh_for.is_zero()
            && self
                .accounts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&claims.sub)
                .is_some_and(|(version, at)| *version == claims.ver && at.elapsed() < self.fresh_for)
    }

    fn vouches_for_session(&self, sid: &str) -> bool {
        !self.fresh_for.is_zero()
            && self
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(sid)
                .is_some_and(|at| at.elapsed() < self.fresh_for)
    }

    fn remember_account(&self, claims: &Claims) {
        if !self.fresh_for.is_zero() {
            remember(&self.accounts, claims.sub.clone(), (claims.ver, Instant::now()));
        }
    }

    fn remember_session(&self, sid: &str) {
        if !self.fresh_for.is_zero() {
            remember(&self.sessions, sid.to_owned(), Instant::now());
        }
    }
}

fn remember<V>(map: &Mutex<HashMap<String, V>>, key: String, value: V) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= LiveFindings::MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_authorizer_context_round_trips() {
        let identity = Identity {
            user_id: "01J0".into(),
            username: "joe".into(),
            session_id: Some("01JSESSION".into()),
            token_version: Some(3),
            expires_at: 1_800_000_900,
            scope: "admin reports:read".into(),
        };
        let context = identity.to_authorizer_context();
        assert_eq!(Identity::from_authorizer_context(context.as_object().unwrap()), Some(identity.clone()));
        assert!(identity.has_scope("reports:read") && !identity.has_scope("reports"));
        let before_sessions =
            Identity { session_id: None, token_version: None, scope: String::new(), ..identity };
        let context = before_sessions.to_authorizer_context();
        assert_eq!(context.as_object().unwrap().len(), 4, "{context}");
        assert_eq!(Identity::from_authorizer_context(context.as_object().unwrap()), Some(before_sessions));
    }

    #[test]
    fn an_incomplete_authorizer_context_is_no_identity() {
        for context in [
            json!({}),
            json!({"sub": "01J0", "username": "joe"}),
            json!({"sub": "", "username": "joe", "exp": 1}),
            json!({"sub": 7, "username": "joe", "exp": 1}),
            json!({"sub": "01J0", "username": "joe", "exp": "soon"}),
        ] {
            assert_eq!(Identity::from_authorizer_context(context.as_object().unwrap()), None, "{context}");
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
