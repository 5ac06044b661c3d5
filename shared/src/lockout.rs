//! Per-account login throttling: after [`FREE_FAILURES`] consecutive failures, attempts are
//! refused for 2^(n-5) seconds (capped at [`MAX_LOCKOUT_SECONDS`]) until a login succeeds.
//!
//! Counted per canonical username whether or not the account exists, so a lockout says nothing
//! about which names are registered.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::{store::StoreError, users::Username};

/// Consecutive failures allowed before the account locks.
pub const FREE_FAILURES: u32 = 5;
/// Longest lockout, in seconds (15 minutes).
pub const MAX_LOCKOUT_SECONDS: u64 = 900;
/// How long failures are remembered after the last one (the item's DynamoDB TTL).
pub const FAILURE_MEMORY_SECONDS: u64 = 86_400;

/// The failure record of one username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedLogins {
    pub username: Username,
    /// Consecutive failures since the last success.
    pub failures: u32,
    /// Unix time in milliseconds until which attempts are refused; 0 when not locked.
    #[serde(default)]
    pub locked_until_ms: u64,
    /// Unix time after which DynamoDB may delete the record.
    pub expires_at: u64,
}

impl FailedLogins {
    /// Whole seconds (rounded up) until attempts are allowed again, if locked at `now_ms`.
    pub fn retry_after(&self, now_ms: u64) -> Option<u64> {
        (self.locked_until_ms > now_ms).then(|| (self.locked_until_ms - now_ms).div_ceil(1000))
    }

    /// The record after admitting one more attempt at `now_ms`, counted as a failure until it
    /// succeeds and locking the name if the policy says so; `Err(retry_after)` while locked. A
    /// record past its `expires_at` counts as none: DynamoDB's TTL deletes items only eventually.
    pub fn admit(current: Option<&Self>, username: &Username, now_ms: u64) -> Result<Self, u64> {
        let current = current.filter(|c| c.expires_at > now_ms / 1000);
        if let Some(retry_after) = current.and_then(|c| c.retry_after(now_ms)) {
            return Err(retry_after);
        }
        let failures = current.map_or(0, |c| c.failures).saturating_add(1);
        Ok(Self {
            username: username.clone(),
            failures,
            locked_until_ms: locked_until_ms(failures, now_ms).unwrap_or(0),
            expires_at: now_ms / 1000 + FAILURE_MEMORY_SECONDS,
        })
    }
}

/// What [`LoginAttempts::admit`] decided about one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The password may be checked; the attempt already counts as failure number `failures`.
    Granted { failures: u32 },
    /// Refused without checking the password: retry after this many seconds.
    Locked { retry_after: u64 },
}

/// How long the account locks after `failures` consecutive failures, if at all.
pub fn lockout_seconds(failures: u32) -> Option<u64> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    Some(2u64.checked_pow(over).map_or(MAX_LOCKOUT_SECONDS, |s| s.min(MAX_LOCKOUT_SECONDS)))
}

/// Until when (Unix milliseconds) failure number `failures`, counted at `now_ms`, locks the name.
pub fn locked_until_ms(failures: u32, now_ms: u64) -> Option<u64> {
    lockout_seconds(failures).map(|seconds| now_ms + seconds * 1000)
}

/// Storage of failed-login records.
pub trait LoginAttempts {
    /// Admits one attempt for `username` at `now_ms` unless the name is locked. A granted attempt
    /// is counted as failed before its password is checked, in the same atomic write that sets
    /// any lock it earns: concurrent guesses cannot all slip in before the lock lands.
    fn admit(
        &self,
        username: &Username,
        now_ms: u64,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send;

    /// Restarts the lock failure number `failures` earned at its admission from `now_ms`, when
    /// its password check failed, unless the record has moved on or is locked for longer.
    fn lock_after_failure(
        &self,
        username: &Username,
        failures: u32,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the failures after a successful login.
    fn clear_failures(&self, username: &Username) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_five_failures_are_free_then_the_lock_doubles_up_to_fifteen_minutes() {
        assert_eq!((0..5).map(lockout_seconds).collect::<Vec<_>>(), [None; 5]);
        assert_eq!(lockout_seconds(5), Some(1));
        assert_eq!(lockout_seconds(6), Some(2));
        assert_eq!(lockout_seconds(14), Some(512));
        assert_eq!(lockout_seconds(15), Some(900));
        assert_eq!(lockout_seconds(u32::MAX), Some(900));
    }

    #[test]
    fn retry_after_counts_down_to_unlocked() {
        let record = FailedLogins {
            username: Username::parse("joe").unwrap(),
            failures: 6,
            locked_until_ms: 100_000,
            expires_at: 1_000,
        };
        assert_eq!(record.retry_after(98_000), Some(2));
        assert_eq!(record.retry_after(99_999), Some(1));
        assert_eq!(record.retry_after(100_000), None);
    }

    #[test]
    fn an_admitted_attempt_counts_as_a_failure_and_earns_its_lock_at_once() {
        let joe = Username::parse("joe").unwrap();
        let first = FailedLogins::admit(None, &joe, 5_000).unwrap();
        assert_eq!(
            (first.failures, first.locked_until_ms, first.expires_at),
            (1, 0, 5 + FAILURE_MEMORY_SECONDS)
        );
        let fourth = FailedLogins { failures: 4, ..first };
        let fifth = FailedLogins::admit(Some(&fourth), &joe, 5_000).unwrap();
        assert_eq!((fifth.failures, fifth.locked_until_ms), (5, 6_000));
        assert_eq!(FailedLogins::admit(Some(&fifth), &joe, 5_500), Err(1));
        let sixth = FailedLogins::admit(Some(&fifth), &joe, 6_000).unwrap();
        assert_eq!((sixth.failures, sixth.locked_until_ms), (6, 8_000));
    }

    #[test]
    fn a_record_past_its_expiry_counts_as_none_though_dynamodb_has_not_deleted_it_yet() {
        let joe = Username::parse("joe").unwrap();
        let stale =
            FailedLogins { username: joe.clone(), failures: 14, locked_until_ms: 0, expires_at: 1_000 };
        let next = FailedLogins::admit(Some(&stale), &joe, 1_000_000).unwrap();
        assert_eq!((next.failures, next.locked_until_ms), (1, 0));
        let live = FailedLogins::admit(Some(&stale), &joe, 999_999).unwrap();
        assert_eq!(live.failures, 15, "still counted the second before it expires");
    }
}
