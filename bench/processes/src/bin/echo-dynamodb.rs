//! The second floor of measure 3: the echo floor plus what the product's required SDK costs
//! before any code of ours runs, as every function pays it: the AWS configuration read from the
//! environment and one `aws-sdk-dynamodb` client, built the way the functions build theirs.

#[path = "floors/echo_dynamodb.rs"]
mod echo_dynamodb;

use auth_core::{config::Config, wiring};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    echo_dynamodb::serve(wiring::aws(&Config::from_process()).dynamodb()).await
}
