//! What the store capabilities the domain declares (in `users`, `work`, `lockout`, `refresh`)
//! can fail with; the adapter in `dynamodb` sorts DynamoDB's errors into it.

use crate::BoxError;

/// A store operation that failed, classified by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store is unreachable, slow or throttling: retry later.
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, a missing table, a malformed item.
    #[error("unexpected DynamoDB failure")]
    Unexpected(#[source] BoxError),
}
