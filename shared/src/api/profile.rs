//! `GET /account` (the caller's own data, for export) and `DELETE /account` (gone for good).

use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Deserialize, Serialize};

use super::{
    account::reauthenticate,
    caller::IdentifyCaller,
    sessions::{SessionView, live_sessions},
};
use crate::{
    audit::{Audit, Event},
    clock::unix_now,
    erasure::{self, EraseAccount},
    error::{ApiError, respond},
    http,
    lockout::LoginAttempts,
    passwords::Password,
    refresh::ListSessions,
    users::{FindAccount, FindUser, Username},
    work::{ListWorkItems, PageRequest, WorkItemView},
};

/// Most work items one export carries; past them, `work_items_cursor` continues on `GET /work`.
/// Keeps the response within what Lambda may return, whatever the titles hold.
pub const EXPORT_WORK_ITEMS: usize = 5_000;
/// Work items read per query while exporting.
const EXPORT_PAGE: u32 = 1_000;

/// What `GET /account` answers: the account as stored, but its password hash.
#[derive(Debug, Serialize)]
struct Export {
    username: String,
    user_id: String,
    created_at: String,
    /// The live sessions, newest first, the caller's own marked `current`.
    sessions: Vec<SessionView>,
    /// Newest first, at most [`EXPORT_WORK_ITEMS`].
    work_items: Vec<WorkItemView>,
    /// Set when there are more: `GET /work?cursor=` with it lists the rest.
    work_items_cursor: Option<String>,
}

/// `GET /account` (authenticated): `200` with the caller's profile, live sessions and work items.
pub async fn export_account<U, S, W, C>(
    users: &U,
    sessions: &S,
    items: &W,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    U: FindAccount,
    S: ListSessions,
    W: ListWorkItems,
    C: IdentifyCaller,
{
    respond(export(users, sessions, items, callers, &request).await)
}

#[tracing::instrument(name = "export account", skip_all)]
async fn export<U, S, W, C>(
    users: &U,
    sessions: &S,
    items: &W,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    U: FindAccount,
    S: ListSessions,
    W: ListWorkItems,
    C: IdentifyCaller,
{
    let now = unix_now();
    let caller = callers.caller(request, now).await?;
    let name = Username::parse(&caller.username).map_err(|_| ApiError::Unauthorized)?;
    let account = users
        .find_account(&name)
        .await?
        .filter(|a| a.user_id == caller.user_id)
        .ok_or(ApiError::Unauthorized)?;
    let live = live_sessions(sessions, &caller, now).await?;
    let mut work_items = Vec::new();
    let mut page = PageRequest { limit: EXPORT_PAGE, cursor: None };
    loop {
        let found = items.list_work_items(&caller.user_id, &page).await?;
        work_items.extend(found.items.into_iter().map(WorkItemView::from));
        page.cursor = found.next;
        if page.cursor.is_none() || work_items.len() >= EXPORT_WORK_ITEMS {
            break;
        }
    }
    let export = Export {
        username: account.username.as_str().to_owned(),
        user_id: account.user_id,
        created_at: account.created_at,
        sessions: live.iter().map(|s| SessionView::of(s, &caller)).collect(),
        work_items,
        work_items_cursor: page.cursor.map(|c| c.encode()),
    };
    Ok(http::envelope(StatusCode::OK, "Success", export))
}

/// The body of `DELETE /account`. Deliberately not `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct AccountDeletion {
    pub password: String,
}

/// `DELETE /account {"password"}` (authenticated): `204` once the user, their work items,
/// sessions and login counter are gone; `403` if the password is wrong, `429` while the name is
/// locked out. A failure part-way (`503`) leaves the account usable: the same request again
/// finishes it. See [`erasure`].
pub async fn delete_account<U, A, E, C>(
    users: &U,
    attempts: &A,
    store: &E,
    callers: &C,
    audit: &Audit,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    U: FindUser,
    A: LoginAttempts,
    E: EraseAccount,
    C: IdentifyCaller,
{
    respond(delete(users, attempts, store, callers, audit, &request).await)
}

#[tracing::instrument(name = "delete account", skip_all)]
async fn delete<U, A, E, C>(
    users: &U,
    attempts: &A,
    store: &E,
    callers: &C,
    audit: &Audit,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    U: FindUser,
    A: LoginAttempts,
    E: EraseAccount,
    C: IdentifyCaller,
{
    let caller = callers.caller(request, unix_now()).await?;
    let AccountDeletion { password } = http::json_body(request)?;
    let from = http::client_seen(request);
    let user = reauthenticate(users, attempts, audit, &caller, Password::unchecked(password), &from).await?;
    let erased = erasure::erase(store, &user.account(), caller.session_id.as_deref()).await?;
    audit.record(Event::AccountDeleted, user.username.as_str(), &from);
    tracing::info!(
        user_id = %user.user_id,
        work_items = erased.work_items,
        sessions = erased.sessions,
        by_this_request = erased.user,
        "account deleted"
    );
    Ok(http::no_content())
}
