//! `POST /work`: wiring only; the behaviour is `auth_core::api::create_work`.

use auth_core::{api, identity::Authenticator, store};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::local_from_env(&aws)?;
    let items = store::WorkItemTable::from_env(&aws)?;
    run(service_fn(|request| api::create_work(&items, authenticator.as_ref(), request))).await
}
