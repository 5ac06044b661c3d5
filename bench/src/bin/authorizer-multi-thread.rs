//! A variant of measure 3: the authorizer wired as `functions/authorizer` wires it, on tokio's
//! multi-thread runtime (a worker per core) instead of the current-thread one.

use auth_core::{api, identity::Authenticator, store};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::from_env(&aws).await?;
    run(service_fn(|event| api::authorizer(&authenticator, event))).await
}
