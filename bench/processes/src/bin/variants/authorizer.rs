//! The authorizer as `functions/authorizer` wires it, for the variants of measure 3, which each
//! change one thing around it.

use auth_core::{api, wiring};
use lambda_runtime::{Error, run, service_fn};

/// Serves authorizer events until the runtime stops, inside whatever tokio runtime calls it.
pub async fn serve() -> Result<(), Error> {
    let authorizer = wiring::Authorizer::build(&wiring::start()).await?;
    run(service_fn(|event| api::authorizer(&authorizer.authenticator, event))).await
}
