//! What every table adapter shares: the client and name, and sorting DynamoDB's errors into
//! the domain's [`StoreError`].

use std::marker::PhantomData;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{transact_write_items::TransactWriteItemsError, update_item::UpdateItemError},
};

use crate::store::StoreError;

/// One DynamoDB table holding `K` items: the client and the table's name.
#[derive(Debug, Clone)]
pub struct Table<K> {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) name: String,
    kind: PhantomData<K>,
}

impl<K> Table<K> {
    /// The table `name`, through `client` (a function shares one client among its tables).
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Self { client, name: name.into(), kind: PhantomData }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

/// Error codes DynamoDB uses for "slow down" or "try again".
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    // A single-item write that met a transaction in flight on the same item.
    "TransactionConflictException",
];

/// Sorts an SDK error into unavailable (network, timeout, throttling) or unexpected.
pub(super) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => service.err().code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(error))
    } else {
        StoreError::Unexpected(Box::new(error))
    }
}

/// An update whose condition no longer held did nothing that still mattered: `Ok`.
pub(super) fn moot_if_condition_failed<T, R>(
    result: Result<T, SdkError<UpdateItemError, R>>,
) -> Result<(), StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

/// Why DynamoDB cancelled a transaction, when it was one of these.
pub(super) enum Cancelled {
    /// The condition of the item at this index failed.
    Condition(usize),
    /// Another request was writing one of its items at the same moment.
    Conflict,
}

pub(super) fn cancellation(error: &TransactWriteItemsError) -> Option<Cancelled> {
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = error else { return None };
    let reasons = cancelled.cancellation_reasons();
    match reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
        Some(index) => Some(Cancelled::Condition(index)),
        None => {
            reasons.iter().any(|r| r.code() == Some("TransactionConflict")).then_some(Cancelled::Conflict)
        }
    }
}
