use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::{
    schema::{REFRESH_TOKENS_TABLE, SESSIONS_BY_USER},
    table::{Cancelled, Table, cancellation, classify, moot_if_condition_failed},
};
use crate::{
    refresh::{Family, FindSession, ListSessions, RefreshRecord, RefreshTokens, Rotation, SessionUse},
    store::StoreError,
};

/// The refresh-token table (`REFRESH_TOKENS_TABLE`): token hashes and their families.
pub type RefreshTokenTable = Table<RefreshTokenRecords>;

/// Marks the refresh-token table.
#[derive(Debug, Clone, Copy)]
pub struct RefreshTokenRecords;

impl RefreshTokenTable {
    fn key(hash: &str) -> AttributeValue {
        AttributeValue::S(hash.to_owned())
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, hash: &str) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(REFRESH_TOKENS_TABLE.hash_key, Self::key(hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    fn put_new(&self, item: &impl serde::Serialize) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(token_hash)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl RefreshTokens for RefreshTokenTable {
    #[tracing::instrument(name = "store start token family", skip_all)]
    async fn start_family(&self, family: &Family, root: &RefreshRecord) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .transact_items(self.put_new(family)?)
            .transact_items(self.put_new(root)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(name = "store find refresh token", skip_all)]
    async fn find_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.get(token_hash).await
    }

    #[tracing::instrument(name = "store rotate refresh token", skip_all)]
    async fn rotate(
        &self,
        parent: &RefreshRecord,
        child: &RefreshRecord,
        session: &SessionUse,
    ) -> Result<Rotation, StoreError> {
        let number = |n: u64| AttributeValue::N(n.to_string());
        let consume = Update::builder()
            .table_name(&self.name)
            .key(REFRESH_TOKENS_TABLE.hash_key, Self::key(&parent.token_hash))
            .update_expression("SET used_at_ms = :now, child_hash = :child")
            .condition_expression("attribute_exists(token_hash) AND attribute_not_exists(used_at_ms)")
            .expression_attribute_values(":now", number(session.at_ms))
            .expression_attribute_values(":child", AttributeValue::S(child.token_hash.clone()))
            .build()?;
        // A session from before absolute ends gets one now, and joins the list by owner.
        let use_family = Update::builder()
            .table_name(&self.name)
            .key(REFRESH_TOKENS_TABLE.hash_key, Self::key(&Family::key(&parent.family_id)))
            .update_expression(
                "SET expires_at = :expires, last_used_at = :now, last_used_from = :from, \
                 session_user = :user, ends_at = if_not_exists(ends_at, :ends)",
            )
            .condition_expression(
                "attribute_exists(token_hash) AND revoked = :no AND token_version = :version \
                 AND (attribute_not_exists(ends_at) OR ends_at > :now)",
            )
            .expression_attribute_values(":expires", number(session.expires_at))
            .expression_attribute_values(":now", number(session.at_ms / 1000))
            .expression_attribute_values(":from", serde_dynamo::to_attribute_value(&session.from)?)
            .expression_attribute_values(":user", AttributeValue::S(parent.user_id.clone()))
            .expression_attribute_values(":ends", number(session.ends_at))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":version", number(session.token_version))
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(consume).build())
            .transact_items(self.put_new(child)?)
            .transact_items(TransactWriteItem::builder().update(use_family).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Rotation::Rotated),
            Err(e) => match e.as_service_error().and_then(cancellation) {
                Some(Cancelled::Condition(0 | 1)) => Ok(Rotation::AlreadyUsed),
                Some(Cancelled::Condition(_)) => Ok(Rotation::FamilyRevoked),
                // A concurrent refresh of the same token, not yet committed: reading the parent
                // now could miss its use and revoke the family. The client retries, and the
                // retry finds the token used and takes the grace path.
                Some(Cancelled::Conflict) => Err(StoreError::Unavailable(Box::new(e))),
                None => Err(classify(e)),
            },
        }
    }

    #[tracing::instrument(name = "store revoke token family", skip_all)]
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(REFRESH_TOKENS_TABLE.hash_key, Self::key(&Family::key(family_id)))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(token_hash)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        // Already gone (expired): nothing left to revoke.
        moot_if_condition_failed(result)
    }
}

impl FindSession for RefreshTokenTable {
    #[tracing::instrument(name = "store find session", skip_all)]
    async fn find_session(&self, id: &str) -> Result<Option<Family>, StoreError> {
        self.get(&Family::key(id)).await
    }
}

impl ListSessions for RefreshTokenTable {
    /// A `Query` of the index by owner, every page.
    #[tracing::instrument(name = "store list sessions", skip_all)]
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<Family>, StoreError> {
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.name)
                .index_name(SESSIONS_BY_USER.name)
                .key_condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", SESSIONS_BY_USER.hash_key)
                .expression_attribute_values(":owner", AttributeValue::S(user_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            sessions.extend(serde_dynamo::from_items::<_, Family>(output.items.unwrap_or_default())?);
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(sessions);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::{
        http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn},
        orchestrator::{HttpRequest, HttpResponse},
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::testing::dynamodb_client_on;

    /// A connector that answers every request with HTTP 400 and DynamoDB's JSON error `body`.
    #[derive(Debug)]
    struct Answers(String);

    impl HttpConnector for Answers {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let mut response = HttpResponse::new(400u16.try_into().unwrap(), SdkBody::from(self.0.clone()));
            response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    fn refresh_table_answering(body: String) -> RefreshTokenTable {
        let http = http_client_fn(move |_, _| SharedHttpConnector::new(Answers(body.clone())));
        RefreshTokenTable::new(dynamodb_client_on(http, "http://127.0.0.1:1"), "refresh")
    }

    fn cancelled_by(reason: &str) -> String {
        format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"cancelled",
                "CancellationReasons":[{{"Code":"{reason}"}},{{"Code":"None"}},{{"Code":"None"}}]}}"#
        )
    }

    /// Real DynamoDB cancels one of two transactions on the same item with `TransactionConflict`
    /// (DynamoDB Local serialises them instead, so this is its only test).
    #[tokio::test]
    async fn a_refresh_racing_another_on_the_same_token_is_retryable_not_a_reuse_nor_a_500() {
        let token = RefreshRecord {
            token_hash: "parent".into(),
            family_id: "f1".into(),
            user_id: "u1".into(),
            username: "joe".into(),
            expires_at: 1_900_000_000,
            used_at_ms: None,
            child_hash: None,
        };
        let session = SessionUse {
            token_version: 0,
            at_ms: 0,
            from: Default::default(),
            expires_at: 1_900_000_000,
            ends_at: 1_900_000_000,
        };
        let raced = refresh_table_answering(cancelled_by("TransactionConflict"))
            .rotate(&token, &token, &session)
            .await;
        assert!(matches!(raced, Err(StoreError::Unavailable(_))), "{raced:?}");
        let used = refresh_table_answering(cancelled_by("ConditionalCheckFailed"))
            .rotate(&token, &token, &session)
            .await;
        assert!(matches!(used, Ok(Rotation::AlreadyUsed)), "{used:?}");
    }

    #[tokio::test]
    async fn a_write_meeting_a_transaction_in_flight_on_its_item_is_retryable() {
        let table = refresh_table_answering(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"in flight"}"#
                .into(),
        );
        let result = table.revoke_family("f1").await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    }
}
