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
    store::StoreError,
    tokens::{Claims, TokenError, TokenService},
    users::{FindUser, Username},
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
    /// The token's `exp`, so a cached authorizer decision cannot outlive the token.
    pub expires_at: u64,
}

impl From<Claims> for Identity {
    fn from(claims: Claims) -> Self {
        Self { user_id: claims.sub, username: claims.username, expires_at: claims.exp }
    }
}

impl Identity {
    /// The context the authorizer returns to API Gateway for this identity.
    pub fn to_authorizer_context(&self) -> Value {
        serde_json::json!({ "sub": self.user_id, "username": self.username, "exp": self.expires_at })
    }

    /// Reads the context an authorizer attached; `None` if absent or incomplete.
    pub fn from_authorizer_context(context: &Map<String, Value>) -> Option<Self> {
        let text = |key: &str| context.get(key)?.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let expires_at = match context.get("exp")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Some(Self { user_id: text("sub")?, username: text("username")?, expires_at })
    }
}

/// Why an access token was refused.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the account is gone, disabled, or its tokens were revoked")]
    Revoked,
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
/// is enabled, and has not revoked its tokens since this one was issued.
pub struct Authenticator<U> {
    tokens: TokenService,
    users: U,
    live: LiveAccounts,
}

impl<U: FindUser> Authenticator<U> {
    /// An authenticator that reads the account on every check.
    pub fn new(tokens: TokenService, users: U) -> Self {
        Self { tokens, users, live: LiveAccounts::new(Duration::ZERO) }
    }

    /// Reuses a live-account finding for `fresh_for` (see `ACCOUNT_CHECK_CACHE_SECONDS`).
    pub fn caching_account_checks(mut self, fresh_for: Duration) -> Self {
        self.live = LiveAccounts::new(fresh_for);
        self
    }

    /// The caller behind `token`, or why not.
    #[tracing::instrument(name = "authenticate", skip_all)]
    pub async fn verify(&self, token: &str, now: u64) -> Result<Identity, Rejection> {
        let claims = self.tokens.verify_following_rotation(token, now).await?;
        if self.live.vouches_for(&claims) {
            return Ok(Identity::from(claims));
        }
        let username = Username::parse(&claims.username).map_err(|_| Rejection::Revoked)?;
        let user = self.users.find_user(&username).await?.ok_or(Rejection::Revoked)?;
        if user.user_id != claims.sub || user.disabled || user.token_version != claims.ver {
            return Err(Rejection::Revoked);
        }
        self.live.remember(&claims);
        Ok(Identity::from(claims))
    }
}

/// Accounts recently found live, by user id: at which token version, and when.
struct LiveAccounts {
    fresh_for: Duration,
    seen: Mutex<HashMap<String, (u64, Instant)>>,
}

impl LiveAccounts {
    /// Entries kept before the map starts over, bounding memory under many distinct users.
    const MAX_ENTRIES: usize = 10_000;

    fn new(fresh_for: Duration) -> Self {
        Self { fresh_for, seen: Mutex::default() }
    }

    fn vouches_for(&self, claims: &Claims) -> bool {
        !self.fresh_for.is_zero()
            && self
                .seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&claims.sub)
                .is_some_and(|(version, at)| *version == claims.ver && at.elapsed() < self.fresh_for)
    }

    fn remember(&self, claims: &Claims) {
        if self.fresh_for.is_zero() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= Self::MAX_ENTRIES {
            seen.clear();
        }
        seen.insert(claims.sub.clone(), (claims.ver, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_authorizer_context_round_trips() {
        let identity = Identity { user_id: "01J0".into(), username: "joe".into(), expires_at: 1_800_000_900 };
        let context = identity.to_authorizer_context();
        assert_eq!(Identity::from_authorizer_context(context.as_object().unwrap()), Some(identity));
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
