//! A variant of measure 3: the authorizer wired as `functions/authorizer` wires it, with mimalloc
//! as the global allocator instead of glibc's malloc.

use auth_core::{api, identity::Authenticator, store};
use lambda_runtime::{Error, run, service_fn};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::from_env(&aws).await?;
    run(service_fn(|event| api::authorizer(&authenticator, event))).await
}
