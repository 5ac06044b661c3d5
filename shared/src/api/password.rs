//! `POST /password`: a signed-in user changes their password.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use super::{account::reauthenticate, caller::IdentifyCaller, refresh::Issuer};
use crate::{
    audit::Event,
    clock::unix_now,
    error::{ApiError, respond},
    http,
    lockout::LoginAttempts,
    passwords::{self, Password},
    refresh::RefreshTokens,
    users::{Account, FindUser, Sessions, SetPasswordHash},
};

/// The body of `POST /password`. Deliberately not `Debug`: it holds passwords.
#[derive(Deserialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /password {"current_password", "new_password"}` (authenticated): `200` with a fresh
/// token pair for this device, every other session and access token of the user ended; `400` if
/// the new password breaks the sign-up policy or is the current one, `403` if the current one is
/// wrong, `429` while the name is locked out (the same lockout as `/auth`).
pub async fn change_password<U, A, R, C>(
    users: &U,
    attempts: &A,
    sessions: &R,
    callers: &C,
    issuer: &Issuer,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    U: FindUser + SetPasswordHash,
    A: LoginAttempts,
    R: RefreshTokens,
    C: IdentifyCaller,
{
    respond(change(users, attempts, sessions, callers, issuer, &request).await)
}

#[tracing::instrument(name = "change password", skip_all)]
async fn change<U, A, R, C>(
    users: &U,
    attempts: &A,
    sessions: &R,
    callers: &C,
    issuer: &Issuer,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    U: FindUser + SetPasswordHash,
    A: LoginAttempts,
    R: RefreshTokens,
    C: IdentifyCaller,
{
    let caller = callers.caller(request, unix_now()).await?;
    let PasswordChange { current_password, new_password } = http::json_body(request)?;
    // The new password is judged before the current one is checked: a request that cannot
    // succeed costs no attempt.
    let new = Password::parse(new_password)?;
    let current = Password::unchecked(current_password);
    if new.same_as(&current) {
        return Err(ApiError::Validation("new_password must differ from current_password".into()));
    }
    let from = http::client_seen(request);
    let user = reauthenticate(users, attempts, &issuer.audit, &caller, current, &from).await?;
    let hash = passwords::hash(new).await?;
    let version =
        users.set_password_hash(&user, &hash, Sessions::End).await?.ok_or(ApiError::AccountChanged)?;
    issuer.audit.record(Event::PasswordChanged, user.username.as_str(), &from);
    tracing::info!(user_id = %user.user_id, "password changed, every session ended");
    let account = Account { token_version: version, ..user.account() };
    let now = unix_now();
    let (session, refresh) = issuer.start_session(sessions, &account, from, now).await?;
    issuer.respond(&account, session.id(), &refresh, now).await
}
