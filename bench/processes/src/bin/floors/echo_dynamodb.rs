//! The echo the SDK floors serve, holding their DynamoDB client: it returns each event, and one
//! with a `list_tables` field makes a request, so the SDK's request path (orchestrator, signing,
//! HTTP/1 and HTTP/2) is linked in as in every function; the benchmark never sends one.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// Serves echo events until the runtime stops.
pub async fn serve(dynamodb: aws_sdk_dynamodb::Client) -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| {
        let dynamodb = dynamodb.clone();
        async move {
            if event.payload.get("list_tables").is_some() {
                dynamodb.list_tables().send().await?;
            }
            Ok::<_, Error>(event.payload)
        }
    }))
    .await
}
