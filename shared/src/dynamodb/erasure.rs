use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, DeleteRequest, TransactWriteItem, WriteRequest};

use super::{
    attempts::LoginAttemptTable,
    refresh::RefreshTokenTable,
    schema::{LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, SESSIONS_BY_USER, USERS_TABLE, WORK_ITEMS_TABLE},
    table::{Cancelled, cancellation, classify},
    users::UserTable,
    work::WorkItemTable,
};
use crate::{erasure::EraseAccount, refresh::Family, store::StoreError, users::Account};

/// Items one `BatchWriteItem` may carry.
const BATCH: usize = 25;
/// Batches in flight at once while deleting a user's work items.
const BATCHES_IN_FLIGHT: usize = 8;
/// Times a batch's unprocessed items are sent again, with a doubling pause, before giving up.
const UNPROCESSED_RETRIES: u32 = 6;

/// The tables an account lives in, for what spans them: erasing it.
#[derive(Debug, Clone)]
pub struct AccountTables {
    pub users: UserTable,
    pub work: WorkItemTable,
    pub attempts: LoginAttemptTable,
    pub sessions: RefreshTokenTable,
}

type Key = HashMap<String, AttributeValue>;

impl AccountTables {
    /// Deletes `keys` from `table` in batches of 25, [`BATCHES_IN_FLIGHT`] at a time, sending
    /// what DynamoDB leaves unprocessed again until it is done.
    async fn delete_keys(&self, table: &str, keys: Vec<Key>) -> Result<u64, StoreError> {
        let count = keys.len() as u64;
        let mut batches = keys.chunks(BATCH).map(<[Key]>::to_vec).collect::<Vec<_>>().into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < BATCHES_IN_FLIGHT
                && let Some(batch) = batches.next()
            {
                running.spawn(delete_batch(self.users.client.clone(), table.to_owned(), batch));
            }
            match running.join_next().await {
                Some(done) => done.map_err(|e| StoreError::Unexpected(Box::new(e)))??,
                None => return Ok(count),
            }
        }
    }
}

async fn delete_batch(
    client: aws_sdk_dynamodb::Client,
    table: String,
    keys: Vec<Key>,
) -> Result<(), StoreError> {
    let mut requests = keys
        .into_iter()
        .map(|key| {
            let delete = DeleteRequest::builder().set_key(Some(key)).build()?;
            Ok(WriteRequest::builder().delete_request(delete).build())
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut pause = Duration::from_millis(50);
    for _ in 0..=UNPROCESSED_RETRIES {
        let output =
            client.batch_write_item().request_items(&table, requests).send().await.map_err(classify)?;
        requests = output.unprocessed_items.and_then(|mut left| left.remove(&table)).unwrap_or_default();
        if requests.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    Err(StoreError::Unavailable("DynamoDB left deletes unprocessed after every retry".into()))
}

impl EraseAccount for AccountTables {
    /// Pages through the owner's partition, keys only, deleting each page as it comes.
    #[tracing::instrument(name = "store delete work items", skip_all)]
    async fn delete_work_items(&self, user_id: &str) -> Result<u64, StoreError> {
        let (owner, item) = (WORK_ITEMS_TABLE.hash_key, WORK_ITEMS_TABLE.range_key.unwrap_or_default());
        let mut deleted = 0;
        let mut start = None;
        loop {
            let output = self
                .work
                .client
                .query()
                .table_name(&self.work.name)
                .key_condition_expression("#owner = :owner")
                .projection_expression("#owner, #item")
                .expression_attribute_names("#owner", owner)
                .expression_attribute_names("#item", item)
                .expression_attribute_values(":owner", AttributeValue::S(user_id.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            deleted += self.delete_keys(&self.work.name, output.items.unwrap_or_default()).await?;
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(deleted);
            }
        }
    }

    /// Lists the sessions through the owner index (eventually consistent: one started a moment
    /// ago may be missed, and ends with the user all the same) and deletes the families.
    #[tracing::instrument(name = "store delete sessions", skip_all)]
    async fn delete_sessions(&self, user_id: &str, except: Option<&str>) -> Result<u64, StoreError> {
        let kept = except.map(Family::key);
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .sessions
                .client
                .query()
                .table_name(&self.sessions.name)
                .index_name(SESSIONS_BY_USER.name)
                .key_condition_expression("#owner = :owner")
                .projection_expression("#key")
                .expression_attribute_names("#owner", SESSIONS_BY_USER.hash_key)
                .expression_attribute_names("#key", REFRESH_TOKENS_TABLE.hash_key)
                .expression_attribute_values(":owner", AttributeValue::S(user_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            keys.extend(output.items.unwrap_or_default().into_iter().filter(|key| {
                let hash = key.get(REFRESH_TOKENS_TABLE.hash_key).and_then(|v| v.as_s().ok());
                hash.is_some() && hash != kept.as_ref()
            }));
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let keys = keys
            .into_iter()
            .map(|mut key| key.remove_entry(REFRESH_TOKENS_TABLE.hash_key).into_iter().collect())
            .collect();
        self.delete_keys(&self.sessions.name, keys).await
    }

    #[tracing::instrument(name = "store delete user", skip_all)]
    async fn delete_user(&self, account: &Account, session: Option<&str>) -> Result<bool, StoreError> {
        let name = AttributeValue::S(account.username.as_str().to_owned());
        let user = Delete::builder()
            .table_name(&self.users.name)
            .key(USERS_TABLE.hash_key, name.clone())
            .condition_expression("user_id = :owner")
            .expression_attribute_values(":owner", AttributeValue::S(account.user_id.clone()))
            .build()?;
        let counter = Delete::builder()
            .table_name(&self.attempts.name)
            .key(LOGIN_ATTEMPTS_TABLE.hash_key, name)
            .build()?;
        let mut transaction = self
            .users
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(user).build())
            .transact_items(TransactWriteItem::builder().delete(counter).build());
        if let Some(id) = session {
            let own = Delete::builder()
                .table_name(&self.sessions.name)
                .key(REFRESH_TOKENS_TABLE.hash_key, AttributeValue::S(Family::key(id)))
                .build()?;
            transaction = transaction.transact_items(TransactWriteItem::builder().delete(own).build());
        }
        match transaction.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error().and_then(cancellation) {
                Some(Cancelled::Condition(_)) => Ok(false),
                Some(Cancelled::Conflict) => Err(StoreError::Unavailable(Box::new(e))),
                None => Err(classify(e)),
            },
        }
    }
}
