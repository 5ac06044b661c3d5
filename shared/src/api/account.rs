//! `POST /signup` and `POST /auth`, and the password check they share with the routes that ask a
//! signed-in user for it again.

use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;

use super::{limit::admit_source, refresh::Issuer};
use crate::{
    audit::{Audit, Event},
    clock::{now_rfc3339, unix_now, unix_now_ms},
    error::{ApiError, respond},
    http,
    identity::Identity,
    lockout::{Admission, LoginAttempts},
    passwords::{self, Password, PasswordHash},
    refresh::{ClientSeen, RefreshTokens},
    throttle::{CountRequests, Throttle},
    users::{CreateUser, Creation, FindUser, Sessions, SetPasswordHash, User, Username},
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
        roles: Vec::new(),
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
/// one body for every failure, or `429` while the username is locked out or the client's network
/// is over its per-minute limit (`throttle`, counted first, whatever the body). A password that
/// matches a hash of another algorithm or cost is hashed again as sign-up would, and stored.
pub async fn auth<U, A, R, C>(
    users: &U,
    attempts: &A,
    sessions: &R,
    throttle: &Throttle<C>,
    issuer: &Issuer,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    U: FindUser + SetPasswordHash,
    A: LoginAttempts,
    R: RefreshTokens,
    C: CountRequests,
{
    respond(login(users, attempts, sessions, throttle, issuer, &request).await)
}

#[tracing::instrument(name = "auth", skip_all)]
async fn login<U, A, R, C>(
    users: &U,
    attempts: &A,
    sessions: &R,
    throttle: &Throttle<C>,
    issuer: &Issuer,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    U: FindUser + SetPasswordHash,
    A: LoginAttempts,
    R: RefreshTokens,
    C: CountRequests,
{
    let from = http::client_seen(request);
    admit_source(throttle, &from, &issuer.audit).await?;
    let Credentials { username, password } = http::json_body(request)?;
    // A name that breaks the rules cannot exist; it still pays for a full (dummy) verification.
    let name = Username::parse(&username).ok();
    // No length policy here: a stored password met it at sign-up, so a short one cannot match.
    let (user, upgraded) =
        match check_password(users, attempts, name.as_ref(), Password::unchecked(password)).await? {
            Check::Locked { retry_after } => {
                issuer.audit.record(Event::LoginLocked, &username, &from);
                return Err(ApiError::TooManyAttempts { retry_after });
            }
            Check::Failed { failures } => {
                issuer.audit.record(Event::LoginFailed, &username, &from);
                tracing::info!(failures, "login failed");
                return Err(ApiError::InvalidCredentials);
            }
            Check::Passed { user, upgraded } => (user, upgraded),
        };
    if let Some(hash) = upgraded {
        upgrade_hash(users, &user, &hash).await;
    }
    let now = unix_now();
    let account = user.account();
    let (session, refresh) = issuer.start_session(sessions, &account, from, now).await?;
    tracing::info!(user_id = %user.user_id, "session started");
    issuer.respond(&account, session.id(), &refresh, now).await
}

/// Stores a login's fresh hash in place of an outdated one. A failure costs nothing but the
/// upgrade, which the next login tries again: the login goes on.
async fn upgrade_hash<U: SetPasswordHash>(users: &U, user: &User, hash: &PasswordHash) {
    match users.set_password_hash(user, hash, Sessions::Keep).await {
        Ok(Some(_)) => tracing::info!(user_id = %user.user_id, "password hash upgraded"),
        Ok(None) => tracing::info!(user_id = %user.user_id, "password changed meanwhile: no upgrade"),
        Err(error) => tracing::warn!(%error, user_id = %user.user_id, "password hash upgrade failed"),
    }
}

/// What checking a password under the login lockout found.
pub(super) enum Check {
    /// The name is locked out: the password was not checked.
    Locked { retry_after: u64 },
    /// No enabled account has this name and password; the failure (number `failures`) counts.
    Failed { failures: u32 },
    /// The password is the user's; their failures are forgotten. `upgraded`: see
    /// [`passwords::Verified`].
    Passed { user: User, upgraded: Option<PasswordHash> },
}

/// The one password check of `/auth`, `/password` and `DELETE /account`: admitted by the lockout
/// first, the same work whether or not the name exists (`None`: a name that cannot exist).
pub(super) async fn check_password<U: FindUser, A: LoginAttempts>(
    users: &U,
    attempts: &A,
    name: Option<&Username>,
    password: Password,
) -> Result<Check, ApiError> {
    let (user, failures) = match name {
        Some(name) => match attempts.admit(name, unix_now_ms()).await? {
            Admission::Locked { retry_after } => return Ok(Check::Locked { retry_after }),
            Admission::Granted { failures } => (users.find_user(name).await?, failures),
        },
        None => (None, 0),
    };
    let verified =
        passwords::verify_and_upgrade(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|u| verified.matches && !u.disabled) else {
        if let Some(name) = name {
            attempts.lock_after_failure(name, failures, unix_now_ms()).await?;
        }
        return Ok(Check::Failed { failures });
    };
    attempts.clear_failures(&user.username).await?;
    Ok(Check::Passed { user, upgraded: verified.upgraded })
}

/// Asks a signed-in caller for their password again, under the same lockout as a login: a stolen
/// access token must not become a way to guess the password. `403` if it is wrong.
pub(super) async fn reauthenticate<U: FindUser, A: LoginAttempts>(
    users: &U,
    attempts: &A,
    audit: &Audit,
    caller: &Identity,
    password: Password,
    from: &ClientSeen,
) -> Result<User, ApiError> {
    let name = Username::parse(&caller.username).map_err(|_| ApiError::Unauthorized)?;
    match check_password(users, attempts, Some(&name), password).await? {
        Check::Locked { retry_after } => {
            audit.record(Event::LoginLocked, name.as_str(), from);
            Err(ApiError::TooManyAttempts { retry_after })
        }
        Check::Failed { failures } => {
            audit.record(Event::PasswordCheckFailed, name.as_str(), from);
            tracing::info!(failures, user_id = %caller.user_id, "password check failed");
            Err(ApiError::WrongPassword)
        }
        Check::Passed { user, .. } if user.user_id == caller.user_id => Ok(user),
        // The name now belongs to another account: the caller's is gone.
        Check::Passed { .. } => Err(ApiError::Unauthorized),
    }
}
