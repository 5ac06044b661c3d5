use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    schema::LOGIN_ATTEMPTS_TABLE,
    table::{Table, classify, moot_if_condition_failed},
};
use crate::{
    lockout::{Admission, FailedLogins, LoginAttempts, locked_until_ms},
    store::StoreError,
    throttle::CountRequests,
    users::Username,
};

/// The failed-login table (`LOGIN_ATTEMPTS_TABLE`), one item per canonical username.
pub type LoginAttemptTable = Table<LoginAttemptRecords>;

/// Marks the failed-login table.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttemptRecords;

/// Conditional writes an attempt may lose to concurrent attempts on the same name before it is
/// refused as if the name were locked: such a burst is itself a guessing attack.
const ADMIT_RACES: usize = 3;

impl LoginAttemptTable {
    fn key(username: &Username) -> AttributeValue {
        AttributeValue::S(username.as_str().to_owned())
    }

    /// The current record, if any failures are remembered.
    #[tracing::instrument(name = "store failed logins", skip_all)]
    pub async fn failed_logins(&self, username: &Username) -> Result<Option<FailedLogins>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, Self::key(username))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}

impl LoginAttempts for LoginAttemptTable {
    /// Reads the record, then writes its successor only if the record is still the one read
    /// (compare-and-swap on the count and the lock): each attempt gets a count of its own, and
    /// no attempt passes a lock another one has set.
    #[tracing::instrument(name = "store admit login attempt", skip_all)]
    async fn admit(&self, username: &Username, now_ms: u64) -> Result<Admission, StoreError> {
        for _ in 0..ADMIT_RACES {
            let current = self.failed_logins(username).await?;
            let next = match FailedLogins::admit(current.as_ref(), username, now_ms) {
                Ok(next) => next,
                Err(retry_after) => return Ok(Admission::Locked { retry_after }),
            };
            let put =
                self.client.put_item().table_name(&self.name).set_item(Some(serde_dynamo::to_item(&next)?));
            let put = match &current {
                None => put.condition_expression("attribute_not_exists(failures)"),
                Some(seen) => put
                    // Records written before the lock was stored unconditionally may lack it.
                    .condition_expression(
                        "failures = :failures AND (locked_until_ms = :until OR attribute_not_exists(locked_until_ms))",
                    )
                    .expression_attribute_values(":failures", AttributeValue::N(seen.failures.to_string()))
                    .expression_attribute_values(":until", AttributeValue::N(seen.locked_until_ms.to_string())),
            };
            match put.send().await {
                Ok(_) => return Ok(Admission::Granted { failures: next.failures }),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(Admission::Locked { retry_after: 1 })
    }

    #[tracing::instrument(name = "store restart login lock", skip_all)]
    async fn lock_after_failure(
        &self,
        username: &Username,
        failures: u32,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let Some(until) = locked_until_ms(failures, now_ms) else { return Ok(()) };
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, Self::key(username))
            .update_expression("SET locked_until_ms = :until")
            .condition_expression("failures = :failures AND locked_until_ms < :until")
            .expression_attribute_values(":failures", AttributeValue::N(failures.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .send()
            .await;
        moot_if_condition_failed(result)
    }

    #[tracing::instrument(name = "store clear failed logins", skip_all)]
    async fn clear_failures(&self, username: &Username) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, Self::key(username))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

impl CountRequests for LoginAttemptTable {
    /// One `UpdateItem` that adds one and returns the sum: no read, no condition, so concurrent
    /// requests each get a count of their own.
    #[tracing::instrument(name = "store count request", skip_all)]
    async fn count_request(&self, key: &str, expires_at: u64) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, AttributeValue::S(key.to_owned()))
            .update_expression("ADD hits :one SET expires_at = :expires")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        match output.attributes.as_ref().and_then(|a| a.get("hits")) {
            Some(AttributeValue::N(n)) => n.parse().map_err(|e| StoreError::Unexpected(Box::new(e))),
            _ => Err(StoreError::Unexpected("the counter came back without hits".into())),
        }
    }
}
