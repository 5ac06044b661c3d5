//! The HTTP API Lambda authorizer: wiring only; the behaviour is `auth_core::api::authorize`.

// The layout of the authorizer's future (runtime, token check, DynamoDB read) takes rustc
// deeper than its default query depth of 128.
#![recursion_limit = "256"]

use auth_core::{api, wiring};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let authorizer = wiring::Authorizer::build(&wiring::start()).await?;
    run(service_fn(|event| api::authorizer(&authorizer.authenticator, event))).await
}
