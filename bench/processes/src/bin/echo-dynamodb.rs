//! The second floor of measure 3: the echo floor plus what the product's required SDK costs
//! before any code of ours runs, as every function pays it: the AWS configuration read from the
//! environment and one `aws-sdk-dynamodb` client, built the way the functions build theirs.

use auth_core::store;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Held for as long as the runtime runs, as a function holds its tables.
    let _dynamodb = store::Aws::from_env().dynamodb();
    run(service_fn(|event: LambdaEvent<Value>| async { Ok::<_, Error>(event.payload) })).await
}
