//! `POST /refresh`, and what `/auth` shares with it: starting a session and the token response.

use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, StatusCode},
};
use serde::{Deserialize, Serialize};

use super::limit::admit_source;
use crate::{
    audit::{Audit, Event},
    clock::unix_now_ms,
    error::{ApiError, respond},
    http,
    keys::{KEYS_MAX_AGE, ServerSecret},
    refresh::{
        ChildDeriver, ClientSeen, Family, RefreshRecord, RefreshSettings, RefreshToken, RefreshTokens,
        Rotation, SessionUse,
    },
    throttle::{CountRequests, Throttle},
    tokens::TokenService,
    users::{Account, FindAccount, Username},
};

/// Everything needed to mint sessions: the access-token service, the refresh-token rules, the
/// server secret refresh-token children are derived with, and the audit trail.
pub struct Issuer {
    pub tokens: TokenService,
    pub refresh: RefreshSettings,
    server: ServerSecret,
    pub(super) audit: Audit,
}

impl Issuer {
    pub fn new(tokens: TokenService, refresh: RefreshSettings, server: ServerSecret) -> Self {
        Self { tokens, refresh, audit: Audit::new(&server), server }
    }

    /// Derives refresh-token children with the server secret.
    fn children(&self) -> ChildDeriver {
        ChildDeriver::new(&self.server)
    }

    /// A refresh record for `token` in `family_id`, valid until `expires_at` (seconds).
    fn record(
        &self,
        token: &RefreshToken,
        family_id: &str,
        user: &Account,
        expires_at: u64,
    ) -> RefreshRecord {
        RefreshRecord {
            token_hash: token.hash(),
            family_id: family_id.to_owned(),
            user_id: user.user_id.clone(),
            username: user.username.as_str().to_owned(),
            expires_at,
            used_at_ms: None,
            child_hash: None,
        }
    }

    /// Starts a new session for a fresh login from `from`; returns it and its first refresh token.
    pub(super) async fn start_session<R: RefreshTokens>(
        &self,
        store: &R,
        user: &Account,
        from: ClientSeen,
        now: u64,
    ) -> Result<(Family, RefreshToken), ApiError> {
        let family = Family::start(&ulid::Ulid::new().to_string(), user, now, from, &self.refresh);
        let root = RefreshToken::generate();
        let record = self.record(&root, family.id(), user, family.expires_at);
        store.start_family(&family, &record).await?;
        Ok((family, root))
    }

    /// The `200` body of `/auth` and `/refresh`: a new access token of session `session_id`
    /// plus `refresh`.
    pub(super) async fn respond(
        &self,
        user: &Account,
        session_id: &str,
        refresh: &RefreshToken,
        now: u64,
    ) -> Result<Response<Body>, ApiError> {
        // A failed reload is logged and keeps the loaded keys, which still sign.
        let _ = self.tokens.reload_keys_if_older_than(KEYS_MAX_AGE).await;
        let issued = self
            .tokens
            .issue(&user.user_id, user.username.as_str(), user.token_version, session_id, &user.scope(), now)
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        let body = SessionResponse {
            access_token: issued.token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: refresh.expose().to_owned(),
        };
        let mut response = http::json_response(StatusCode::OK, &body);
        response.headers_mut().insert("pragma", HeaderValue::from_static("no-cache"));
        Ok(response)
    }
}

/// The session body; `access_token` is the key the blog's clients read.
#[derive(Serialize)]
struct SessionResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

/// The body of `POST /refresh`.
#[derive(Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `POST /refresh {"refresh_token"}`: a new access token and the next refresh token, `401`, or
/// `429` while the client's network is over its per-minute limit (`throttle`, counted first).
pub async fn refresh<U: FindAccount, R: RefreshTokens, C: CountRequests>(
    users: &U,
    store: &R,
    throttle: &Throttle<C>,
    issuer: &Issuer,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(rotate(users, store, throttle, issuer, &request).await)
}

#[tracing::instrument(name = "refresh", skip_all)]
async fn rotate<U: FindAccount, R: RefreshTokens, C: CountRequests>(
    users: &U,
    store: &R,
    throttle: &Throttle<C>,
    issuer: &Issuer,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let from = http::client_seen(request);
    admit_source(throttle, &from, &issuer.audit).await?;
    let RefreshRequest { refresh_token } = http::json_body(request)?;
    let presented = RefreshToken::parse(&refresh_token).ok_or(ApiError::InvalidRefreshToken)?;
    let now_ms = unix_now_ms();
    let now = now_ms / 1000;
    let parent = store
        .find_token(&presented.hash())
        .await?
        .filter(|p| p.expires_at > now)
        .ok_or(ApiError::InvalidRefreshToken)?;
    let username = Username::parse(&parent.username).map_err(|_| ApiError::InvalidRefreshToken)?;
    let (family, user) =
        tokio::try_join!(store.find_session(&parent.family_id), users.find_account(&username))?;
    let user = user.filter(|u| !u.disabled).ok_or(ApiError::InvalidRefreshToken)?;
    let family = family
        .filter(|f| f.is_live(&user.user_id, user.token_version, now))
        .ok_or(ApiError::InvalidRefreshToken)?;

    let mut child = issuer.children().child_of(&presented);
    let expires_at = issuer.refresh.token_expiry(now, family.absolute_end());
    let child_record = issuer.record(&child, &parent.family_id, &user, expires_at);
    let session = SessionUse {
        token_version: user.token_version,
        at_ms: now_ms,
        from,
        expires_at,
        ends_at: family.absolute_end(),
    };
    let outcome = match parent.used_at_ms {
        Some(_) => Rotation::AlreadyUsed,
        None => store.rotate(&parent, &child_record, &session).await?,
    };
    match outcome {
        Rotation::Rotated => {}
        Rotation::FamilyRevoked => return Err(ApiError::InvalidRefreshToken),
        Rotation::AlreadyUsed => {
            let used = match parent.used_at_ms {
                Some(_) => parent.clone(),
                None => store.find_token(&parent.token_hash).await?.ok_or(ApiError::InvalidRefreshToken)?,
            };
            let grace_ms = issuer.refresh.grace.as_millis() as u64;
            let within_grace = used.used_at_ms.is_some_and(|at| now_ms.saturating_sub(at) <= grace_ms);
            let earlier_child = match used.child_hash.as_deref() {
                Some(hash) if within_grace => issuer.children().find_child(&presented, hash),
                _ => None,
            };
            let Some(earlier_child) = earlier_child else {
                store.revoke_family(&parent.family_id).await?;
                issuer.audit.record(Event::RefreshReused, &parent.username, &session.from);
                tracing::warn!(family_id = %parent.family_id, user_id = %user.user_id, "refresh token reused: family revoked");
                return Err(ApiError::InvalidRefreshToken);
            };
            issuer.audit.record(Event::RefreshReplayed, &parent.username, &session.from);
            tracing::info!(family_id = %parent.family_id, "refresh retried within the grace window");
            child = earlier_child;
        }
    }
    issuer.respond(&user, &parent.family_id, &child, now).await
}
