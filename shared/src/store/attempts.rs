use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{LOGIN_ATTEMPTS_TABLE, StoreError, Table, TableKind, classify};
use crate::{
    lockout::{FAILURE_MEMORY_SECONDS, FailedLogins, LoginAttempts},
    users::Username,
};

/// The failed-login table (`LOGIN_ATTEMPTS_TABLE`), one item per canonical username.
pub type LoginAttemptTable = Table<LoginAttemptRecords>;

/// Marks the failed-login table.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttemptRecords;

impl TableKind for LoginAttemptRecords {
    const VARIABLE: &'static str = "LOGIN_ATTEMPTS_TABLE";
}

impl LoginAttemptTable {
    fn key(username: &Username) -> AttributeValue {
        AttributeValue::S(username.as_str().to_owned())
    }
}

impl LoginAttempts for LoginAttemptTable {
    #[tracing::instrument(name = "store failed logins", skip_all)]
    async fn failed_logins(&self, username: &Username) -> Result<Option<FailedLogins>, StoreError> {
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

    /// `ADD` makes concurrent failures each count; the lock is then set from the new count.
    #[tracing::instrument(name = "store record failed login", skip_all)]
    async fn record_failure(&self, username: &Username, now_ms: u64) -> Result<FailedLogins, StoreError> {
        let expires_at = AttributeValue::N((now_ms / 1000 + FAILURE_MEMORY_SECONDS).to_string());
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, Self::key(username))
            .update_expression("ADD failures :one SET expires_at = :expires")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", expires_at)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(classify)?;
        let mut record: FailedLogins = serde_dynamo::from_item(output.attributes.unwrap_or_default())?;
        record.lock_if_due(now_ms);
        if record.locked_until_ms > 0 {
            self.client
                .update_item()
                .table_name(&self.name)
                .key(LOGIN_ATTEMPTS_TABLE.hash_key, Self::key(username))
                .update_expression("SET locked_until_ms = :until")
                .expression_attribute_values(":until", AttributeValue::N(record.locked_until_ms.to_string()))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(record)
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
