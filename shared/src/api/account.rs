//! `POST /signup` and `POST /auth`.

use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;

use super::refresh::Issuer;
use crate::{
    audit::Event,
    clock::{now_rfc3339, unix_now_ms},
    error::{ApiError, respond},
    http,
    lockout::{Admission, LoginAttempts},
    passwords::{self, Password},
    refresh::RefreshTokens,
    users::{CreateUser, Creation, FindUser, User, Username},
};

/// The body of `POST /signup` and `POST /auth`. Deliberately not `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// `POST /signup {"username", "password"}`: `201`, or `409` if the name is taken.
pub async fn signup<S: CreateUser>(
    users: &S,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(create_account(users, &request).await)
}

#[tracing::instrument(name = "signup", skip_all)]
async fn create_account<S: CreateUser>(users: &S, request: &Request) -> Result<Response<Body>, ApiError> {
    let Credentials { username, password } = http::json_body(request)?;
    let username = Username::parse(&username)?;
    let password = Password::parse(password)?;
    let user = User {
        username,
        user_id: ulid::Ulid::new().to_string(),
        password_hash: passwords::hash(password).await?,
        created_at: now_rfc3339(),
        token_version: 0,
        disabled: false,
    };
    match users.create_user(&user).await? {
        Creation::Created => {
            tracing::info!(user_id = %user.user_id, "user created");
            Ok(http::envelope(StatusCode::CREATED, "Success", "User created"))
        }
        Creation::NameTaken => Err(ApiError::UserExists),
    }
}

/// `POST /auth {"username", "password"}`: `200` with an access and a refresh token, `401` with
/// one body for every failure, or `429` while the username is locked out.
pub async fn auth<U: FindUser, A: LoginAttempts, R: RefreshTokens>(
    users: &U,
    attempts: &A,
    sessions: &R,
    issuer: &Issuer,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(login(users, attempts, sessions, issuer, &request).await)
}

#[tracing::instrument(name = "auth", skip_all)]
async fn login<U: FindUser, A: LoginAttempts, R: RefreshTokens>(
    users: &U,
    attempts: &A,
    sessions: &R,
    issuer: &Issuer,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let Credentials { username, password } = http::json_body(request)?;
    let from = http::client_seen(request);
    let now_ms = unix_now_ms();
    // A name that breaks the rules cannot exist; it still pays for a full (dummy) verification.
    let name = Username::parse(&username).ok();
    let (user, failures) = match &name {
        Some(name) => match attempts.admit(name, now_ms).await? {
            Admission::Locked { retry_after } => {
                issuer.audit.record(Event::LoginLocked, &username, &from);
                return Err(ApiError::TooManyAttempts { retry_after });
            }
            Admission::Granted { failures } => (users.find_user(name).await?, failures),
        },
        None => (None, 0),
    };
    // No length policy here: a stored password met it at sign-up, so a short one cannot match.
    let password = Password::unchecked(password);
    let verified = passwords::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|u| verified && !u.disabled) else {
        if let Some(name) = &name {
            attempts.lock_after_failure(name, failures, unix_now_ms()).await?;
        }
        issuer.audit.record(Event::LoginFailed, &username, &from);
        tracing::info!(failures, "login failed");
        return Err(ApiError::InvalidCredentials);
    };
    attempts.clear_failures(&user.username).await?;
    let now = now_ms / 1000;
    let account = user.account();
    let (session, refresh) = issuer.start_session(sessions, &account, from, now).await?;
    tracing::info!(user_id = %user.user_id, "session started");
    issuer.respond(&account, session.id(), &refresh, now).await
}
