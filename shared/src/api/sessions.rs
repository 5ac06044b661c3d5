//! Ending and listing one's sessions: `POST /logout`, `GET /sessions`, `DELETE /sessions` and
//! `DELETE /sessions/{id}`, for the verified caller only.

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};

use super::caller::IdentifyCaller;
use crate::{
    clock::{rfc3339, unix_now},
    error::{ApiError, respond},
    http,
    identity::Identity,
    refresh::{ClientSeen, Family, ListSessions, RefreshToken, RefreshTokens},
    users::{RevokeUserTokens, Username},
};

/// The body of `POST /logout`: exactly one of the two.
#[derive(Deserialize)]
pub struct LogoutRequest {
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub all: bool,
}

/// `POST /logout` (authenticated): `{"refresh_token"}` ends that session, `{"all": true}` every
/// session and access token of the caller. `204` either way.
pub async fn logout<U: RevokeUserTokens, R: RefreshTokens, C: IdentifyCaller>(
    users: &U,
    store: &R,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(log_out(users, store, callers, &request).await)
}

#[tracing::instrument(name = "logout", skip_all)]
async fn log_out<U: RevokeUserTokens, R: RefreshTokens, C: IdentifyCaller>(
    users: &U,
    store: &R,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let identity = callers.caller(request, unix_now()).await?;
    let LogoutRequest { refresh_token, all } = http::json_body(request)?;
    match (refresh_token, all) {
        (None, true) => {
            let username = Username::parse(&identity.username).map_err(|_| ApiError::Unauthorized)?;
            users.revoke_all_tokens(&username, &identity.user_id).await?;
            tracing::info!(user_id = %identity.user_id, "all sessions revoked");
        }
        (Some(raw), false) => {
            // Someone else's or an unknown token changes nothing, and says so to no one; one that
            // cannot be ours is the client's mistake (a 401 would read as "log in again").
            let token = RefreshToken::parse(&raw)
                .ok_or_else(|| ApiError::Validation("refresh_token is not a refresh token".into()))?;
            if let Some(record) = store.find_token(&token.hash()).await?
                && record.user_id == identity.user_id
            {
                store.revoke_family(&record.family_id).await?;
                tracing::info!(user_id = %identity.user_id, family_id = %record.family_id, "session revoked");
            }
        }
        _ => {
            return Err(ApiError::Validation(
                r#"Send either {"refresh_token": "..."} or {"all": true}"#.into(),
            ));
        }
    }
    Ok(http::no_content())
}

/// What the caller sees of one of their sessions. Times are RFC 3339, UTC.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    id: String,
    /// Whether the caller's access token belongs to it.
    current: bool,
    created_at: Option<String>,
    last_used_at: Option<String>,
    /// When it ends unless it refreshes first.
    expires_at: String,
    /// When it ends however often it refreshes.
    ends_at: String,
    created_from: Option<ClientSeen>,
    last_used_from: Option<ClientSeen>,
}

impl SessionView {
    pub(super) fn of(family: &Family, caller: &Identity) -> Self {
        Self {
            id: family.id().to_owned(),
            current: caller.session_id.as_deref() == Some(family.id()),
            created_at: family.created_at.map(rfc3339),
            last_used_at: family.last_used_at.map(rfc3339),
            expires_at: rfc3339(family.expires_at),
            ends_at: rfc3339(family.absolute_end()),
            created_from: family.created_from.clone(),
            last_used_from: family.last_used_from.clone(),
        }
    }
}

/// The caller's live sessions, newest first. A token from before the authorizer passed the token
/// version on is taken to be at the newest version among the sessions.
pub(super) async fn live_sessions<S: ListSessions>(
    store: &S,
    caller: &Identity,
    now: u64,
) -> Result<Vec<Family>, ApiError> {
    let mut sessions = store.sessions_of(&caller.user_id).await?;
    let version =
        caller.token_version.or_else(|| sessions.iter().map(|s| s.token_version).max()).unwrap_or_default();
    sessions.retain(|s| s.is_live(&caller.user_id, version, now));
    sessions.sort_by(|a, b| b.token_hash.cmp(&a.token_hash));
    Ok(sessions)
}

/// `GET /sessions`: the caller's live sessions, newest first, the caller's own marked `current`.
pub async fn list_sessions<S: ListSessions, C: IdentifyCaller>(
    store: &S,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(list(store, callers, &request).await)
}

#[tracing::instrument(name = "list sessions", skip_all)]
async fn list<S: ListSessions, C: IdentifyCaller>(
    store: &S,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = unix_now();
    let caller = callers.caller(request, now).await?;
    let views: Vec<SessionView> =
        live_sessions(store, &caller, now).await?.iter().map(|s| SessionView::of(s, &caller)).collect();
    Ok(http::envelope(StatusCode::OK, "Success", views))
}

/// `DELETE /sessions/{id}` ends one of the caller's live sessions (`204`); an id that is not
/// one gets `404`, whoever's session it is. `DELETE /sessions` ends every session but the
/// caller's own (`204`).
pub async fn end_sessions<S: RefreshTokens + ListSessions, C: IdentifyCaller>(
    store: &S,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(end(store, callers, &request).await)
}

#[tracing::instrument(name = "end sessions", skip_all)]
async fn end<S: RefreshTokens + ListSessions, C: IdentifyCaller>(
    store: &S,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = unix_now();
    let caller = callers.caller(request, now).await?;
    match session_id(request) {
        Some(id) => end_one(store, &caller, &id, now).await?,
        None => end_others(store, &caller, now).await?,
    }
    Ok(http::no_content())
}

async fn end_one<S: RefreshTokens>(store: &S, caller: &Identity, id: &str, now: u64) -> Result<(), ApiError> {
    if ulid::Ulid::from_string(id).is_err() {
        return Err(ApiError::Validation("A session id is a 26-character ULID".into()));
    }
    let found = store.find_session(id).await?;
    let version = caller.token_version.or(found.as_ref().map(|f| f.token_version)).unwrap_or_default();
    if !found.is_some_and(|f| f.is_live(&caller.user_id, version, now)) {
        return Err(ApiError::NoSuchSession);
    }
    store.revoke_family(id).await?;
    tracing::info!(user_id = %caller.user_id, family_id = %id, "session ended by its user");
    Ok(())
}

async fn end_others<S: RefreshTokens + ListSessions>(
    store: &S,
    caller: &Identity,
    now: u64,
) -> Result<(), ApiError> {
    let Some(own) = caller.session_id.as_deref() else {
        return Err(ApiError::Validation(
            "This access token was issued before sessions had ids: refresh it, then try again".into(),
        ));
    };
    let others = live_sessions(store, caller, now).await?;
    for session in others.iter().filter(|s| s.id() != own) {
        store.revoke_family(session.id()).await?;
    }
    tracing::info!(user_id = %caller.user_id, ended = others.len().saturating_sub(1), "other sessions ended by their user");
    Ok(())
}

/// The `{id}` of `DELETE /sessions/{id}`: the path parameter API Gateway extracted, else the
/// path's last segment (the local router); `None` for `DELETE /sessions`.
fn session_id(request: &Request) -> Option<String> {
    if let Some(id) = request.path_parameters_ref().and_then(|p| p.first("id")) {
        return Some(id.to_owned());
    }
    let path = request.uri().path().trim_end_matches('/');
    path.strip_prefix("/sessions/").filter(|id| !id.is_empty()).map(str::to_owned)
}
