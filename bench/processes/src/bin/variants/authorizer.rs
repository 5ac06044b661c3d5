//! The authorizer's wiring as `functions/authorizer/src/main.rs` has it, for the variants of
//! measure 3, which each change one thing around it.

use auth_core::{api, identity::Authenticator, store};
use lambda_runtime::{Error, run, service_fn};

/// Serves authorizer events until the runtime stops, inside whatever tokio runtime calls it.
pub async fn serve() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::from_env(&aws).await?;
    run(service_fn(|event| api::authorizer(&authenticator, event))).await
}
