//! The second floor of measure 3: the echo floor plus what the product's required SDK costs
//! before any code of ours runs, as every function pays it: the AWS configuration read from the
//! environment and one `aws-sdk-dynamodb` client, built the way the functions build theirs. An
//! event with a `list_tables` field makes a request, so the SDK's request path (orchestrator,
//! signing, HTTP/1 and HTTP/2) is linked here as in every function; the benchmark never sends one.

use auth_core::store;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let dynamodb = store::Aws::from_env().dynamodb();
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
