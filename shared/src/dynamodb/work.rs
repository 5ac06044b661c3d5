use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    schema::WORK_ITEMS_TABLE,
    table::{Table, classify},
};
use crate::{
    store::StoreError,
    work::{Cursor, ListWorkItems, Page, PageRequest, PutWorkItem, WorkItem},
};

/// The work-items table (`WORK_ITEMS_TABLE`).
pub type WorkItemTable = Table<WorkItems>;

/// Marks the work-items table.
#[derive(Debug, Clone, Copy)]
pub struct WorkItems;

impl PutWorkItem for WorkItemTable {
    #[tracing::instrument(name = "store put work item", skip_all)]
    async fn put_work_item(&self, item: &WorkItem) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(serde_dynamo::to_item(item)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

impl ListWorkItems for WorkItemTable {
    /// A `Query` on the caller's partition, newest first. It asks for one item more than the
    /// page so `next` is only set when another page really exists.
    #[tracing::instrument(name = "store list work items", skip_all, fields(limit = page.limit))]
    async fn list_work_items(&self, user_id: &str, page: &PageRequest) -> Result<Page, StoreError> {
        let owner = AttributeValue::S(user_id.to_owned());
        let mut query = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", WORK_ITEMS_TABLE.hash_key)
            .expression_attribute_values(":owner", owner.clone())
            .scan_index_forward(false)
            .limit(i32::try_from(page.limit + 1).unwrap_or(i32::MAX));
        if let (Some(cursor), Some(sort_key)) = (&page.cursor, WORK_ITEMS_TABLE.range_key) {
            query = query
                .exclusive_start_key(WORK_ITEMS_TABLE.hash_key, owner)
                .exclusive_start_key(sort_key, AttributeValue::S(cursor.item_id()));
        }
        let output = query.send().await.map_err(classify)?;
        let mut items: Vec<WorkItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        let limit = page.limit as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().and_then(|last| Cursor::after(&last.item_id))
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
