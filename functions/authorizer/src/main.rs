//! The HTTP API Lambda authorizer: wiring only; the behaviour is `auth_core::api::authorize`.

// The layout of the authorizer's future (runtime, token check, DynamoDB read) takes rustc
// deeper than its default query depth of 128.
#![recursion_limit = "256"]

use auth_core::{api, identity::Authenticator, store};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::from_env(&aws).await?;
    run(service_fn(|event| api::authorizer(&authenticator, event))).await
}
