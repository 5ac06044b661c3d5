//! Table definitions: the key schema `template.yaml` deploys, and local creation from it.

use std::time::Duration;

use aws_sdk_dynamodb::{
    Client,
    types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
        TimeToLiveSpecification,
    },
};

use crate::BoxError;

/// A table's key schema. A test checks these against `template.yaml`, so they cannot drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's logical id in `template.yaml`.
    pub resource: &'static str,
    /// Partition key (a string attribute).
    pub hash_key: &'static str,
    /// Sort key (a string attribute), if any.
    pub range_key: Option<&'static str>,
    /// Number attribute holding the Unix time after which DynamoDB deletes the item, if any.
    pub ttl_attribute: Option<&'static str>,
}

/// Users, one item per canonical username.
pub const USERS_TABLE: TableSpec =
    TableSpec { resource: "UsersTable", hash_key: "username", range_key: None, ttl_attribute: None };

/// Work items, partitioned by owner, sorted by ULID (creation time).
pub const WORK_ITEMS_TABLE: TableSpec = TableSpec {
    resource: "WorkItemsTable",
    hash_key: "user_id",
    range_key: Some("item_id"),
    ttl_attribute: None,
};

/// Failed-login records, one per canonical username; they expire by DynamoDB TTL.
pub const LOGIN_ATTEMPTS_TABLE: TableSpec = TableSpec {
    resource: "LoginAttemptsTable",
    hash_key: "username",
    range_key: None,
    ttl_attribute: Some("expires_at"),
};

/// Refresh tokens (by hash) and their families (`family#<id>`); they expire by DynamoDB TTL.
pub const REFRESH_TOKENS_TABLE: TableSpec = TableSpec {
    resource: "RefreshTokensTable",
    hash_key: "token_hash",
    range_key: None,
    ttl_attribute: Some("expires_at"),
};

/// Creates the table on demand billing unless it exists, and waits until it is active.
pub async fn create_table_if_absent(client: &Client, name: &str, spec: &TableSpec) -> Result<(), BoxError> {
    let keys =
        std::iter::once((spec.hash_key, KeyType::Hash)).chain(spec.range_key.map(|k| (k, KeyType::Range)));
    let mut request = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for (attribute, key_type) in keys {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(KeySchemaElement::builder().attribute_name(attribute).key_type(key_type).build()?);
    }
    match request.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    wait_until_active(client, name).await?;
    if let Some(attribute) = spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build()?;
        match client.update_time_to_live().table_name(name).time_to_live_specification(ttl).send().await {
            Ok(_) => {}
            // Already enabled: DynamoDB refuses to enable it twice.
            Err(e)
                if e.as_service_error().is_some_and(|s| s.meta().code() == Some("ValidationException")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), BoxError> {
    for _ in 0..100 {
        let table = client.describe_table().table_name(name).send().await?;
        if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("table {name} did not become active").into())
}

/// Deletes a table; a missing table is not an error.
pub async fn delete_table(client: &Client, name: &str) -> Result<(), BoxError> {
    match client.delete_table().table_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
