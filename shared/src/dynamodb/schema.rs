//! Table definitions: the key schema `template.yaml` deploys, and local creation from it.

use std::time::Duration;

use aws_sdk_dynamodb::{
    Client,
    types::{
        AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
        GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType, TableStatus, TimeToLiveSpecification,
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
    /// Global secondary indexes, each projecting every attribute.
    pub indexes: &'static [IndexSpec],
}

/// A global secondary index: its name and key (string attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: Option<&'static str>,
}

impl IndexSpec {
    fn key_schema(&self) -> Result<Vec<KeySchemaElement>, BoxError> {
        key_schema(self.hash_key, self.range_key)
    }
}

/// A session's families by owner, newest last: only family items carry `session_user`.
pub const SESSIONS_BY_USER: IndexSpec =
    IndexSpec { name: "sessions-by-user", hash_key: "session_user", range_key: Some("token_hash") };

/// Users, one item per canonical username.
pub const USERS_TABLE: TableSpec = TableSpec {
    resource: "UsersTable",
    hash_key: "username",
    range_key: None,
    ttl_attribute: None,
    indexes: &[],
};

/// Work items, partitioned by owner, sorted by ULID (creation time).
pub const WORK_ITEMS_TABLE: TableSpec = TableSpec {
    resource: "WorkItemsTable",
    hash_key: "user_id",
    range_key: Some("item_id"),
    ttl_attribute: None,
    indexes: &[],
};

/// Failed-login records, one per canonical username; they expire by DynamoDB TTL.
pub const LOGIN_ATTEMPTS_TABLE: TableSpec = TableSpec {
    resource: "LoginAttemptsTable",
    hash_key: "username",
    range_key: None,
    ttl_attribute: Some("expires_at"),
    indexes: &[],
};

/// Refresh tokens (by hash) and their families, the sessions (`family#<id>`), listed by owner
/// through [`SESSIONS_BY_USER`]; they expire by DynamoDB TTL.
pub const REFRESH_TOKENS_TABLE: TableSpec = TableSpec {
    resource: "RefreshTokensTable",
    hash_key: "token_hash",
    range_key: None,
    ttl_attribute: Some("expires_at"),
    indexes: &[SESSIONS_BY_USER],
};

impl TableSpec {
    /// Every key attribute of the table and its indexes, once each.
    pub fn attributes(&self) -> Vec<&'static str> {
        let mut all = vec![self.hash_key];
        all.extend(self.range_key);
        for index in self.indexes {
            all.push(index.hash_key);
            all.extend(index.range_key);
        }
        let mut seen = std::collections::HashSet::new();
        all.retain(|a| seen.insert(*a));
        all
    }
}

fn key_schema(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>, BoxError> {
    let keys = std::iter::once((hash, KeyType::Hash)).chain(range.map(|k| (k, KeyType::Range)));
    keys.map(|(attribute, key_type)| {
        Ok(KeySchemaElement::builder().attribute_name(attribute).key_type(key_type).build()?)
    })
    .collect()
}

fn attribute(name: &str) -> Result<AttributeDefinition, BoxError> {
    Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()?)
}

fn projection_of_all() -> Projection {
    Projection::builder().projection_type(ProjectionType::All).build()
}

/// Creates the table on demand billing unless it exists, adds any index it lacks (a table made
/// by an older version, as `make dev` keeps them), and waits until all is active.
pub async fn create_table_if_absent(client: &Client, name: &str, spec: &TableSpec) -> Result<(), BoxError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(spec.hash_key, spec.range_key)?));
    for name in spec.attributes() {
        request = request.attribute_definitions(attribute(name)?);
    }
    for index in spec.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(index.key_schema()?))
                .projection(projection_of_all())
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    wait_until_active(client, name).await?;
    add_missing_indexes(client, name, spec).await?;
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

/// Creates each of the spec's indexes the table lacks, one at a time, as DynamoDB allows.
async fn add_missing_indexes(client: &Client, name: &str, spec: &TableSpec) -> Result<(), BoxError> {
    for index in spec.indexes {
        let table = client.describe_table().table_name(name).send().await?;
        let present = table.table().map(|t| t.global_secondary_indexes()).unwrap_or_default();
        if present.iter().any(|i| i.index_name() == Some(index.name)) {
            continue;
        }
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.name)
            .set_key_schema(Some(index.key_schema()?))
            .projection(projection_of_all())
            .build()?;
        let mut update = client
            .update_table()
            .table_name(name)
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build());
        for attribute_name in [Some(index.hash_key), index.range_key].into_iter().flatten() {
            update = update.attribute_definitions(attribute(attribute_name)?);
        }
        update.send().await?;
        println!("table {name}: index {} added", index.name);
        wait_until_active(client, name).await?;
    }
    Ok(())
}

/// Waits until the table and every index it has are active.
async fn wait_until_active(client: &Client, name: &str) -> Result<(), BoxError> {
    for _ in 0..100 {
        let table = client.describe_table().table_name(name).send().await?;
        let table = table.table();
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status() == Some(&IndexStatus::Active));
        if table.and_then(|t| t.table_status()) == Some(&TableStatus::Active) && indexes_active {
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
