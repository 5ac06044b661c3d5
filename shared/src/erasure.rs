//! Deleting an account for good, in the one order that leaves nothing a retry cannot finish and
//! nothing a new account of the same name could inherit.
//!
//! The account's data goes first, while the account still exists and the caller's token still
//! works: its work items, then every session but the caller's. Last, in one transaction, the
//! user, the caller's own session and the name's login counter. A failure before that step leaves
//! the account in place and usable, some of its data gone, and the same request again finishes
//! it. After it the name is free, and a new account under it gets a new user id, which no old
//! token, session or work item names.

use std::future::Future;

use crate::{store::StoreError, users::Account};

/// The store operations an erasure is made of, each one idempotent.
pub trait EraseAccount {
    /// Deletes every work item of `user_id`; returns how many it deleted.
    fn delete_work_items(&self, user_id: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes every session of `user_id` but `except` (the caller's own), as far as the
    /// sessions' list shows them; returns how many it deleted.
    fn delete_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// In one transaction: deletes the user if `account.user_id` still owns the name, the
    /// session `session` and the name's login counter. `false` if the name is no longer the
    /// account's (deleted already): then nothing was written.
    fn delete_user(
        &self,
        account: &Account,
        session: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What an erasure deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub work_items: u64,
    pub sessions: u64,
    /// Whether this erasure deleted the user (`false`: a concurrent one did).
    pub user: bool,
}

/// Deletes `account` and everything it owns; `session` is the caller's, kept to the last step so
/// that a failure before it can be retried with the same token.
#[tracing::instrument(name = "erase account", skip_all)]
pub async fn erase<S: EraseAccount>(
    store: &S,
    account: &Account,
    session: Option<&str>,
) -> Result<Erased, StoreError> {
    let work_items = store.delete_work_items(&account.user_id).await?;
    let sessions = store.delete_sessions(&account.user_id, session).await?;
    let user = store.delete_user(account, session).await?;
    // Another device may have added an item since the first sweep; nothing can add one now.
    let late = match store.delete_work_items(&account.user_id).await {
        Ok(late) => late,
        Err(error) => {
            tracing::error!(%error, user_id = %account.user_id, "work items of a deleted account left behind");
            0
        }
    };
    let own = u64::from(user && session.is_some());
    Ok(Erased { work_items: work_items + late, sessions: sessions + own, user })
}
