//! The fourth floor of measure 3: the SDK floor (`echo-dynamodb`) plus the cheapest read of a
//! key at init the SDK allows, before any code of ours: one `GetItem` through the
//! DynamoDB client every function already has, as a key kept in a DynamoDB table would be read.
//! Beside the third floor (`echo-secrets-manager`) it shows what of the key read is the second
//! client and what is the first request of any.

#[path = "floors/echo_dynamodb.rs"]
mod echo_dynamodb;

use auth_core::{config::Config, wiring};
use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let dynamodb = wiring::aws(&Config::from_process()).dynamodb();
    let item = dynamodb
        .get_item()
        .table_name("signing-keys")
        .key("pk", AttributeValue::S("current".into()))
        .send()
        .await?;
    item.item()
        .and_then(|i| i.get("key"))
        .ok_or("the item has no key")?
        .as_s()
        .map_err(|_| "the key is not a string")?;
    echo_dynamodb::serve(dynamodb).await
}
