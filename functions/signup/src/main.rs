//! `POST /signup`: wiring only; the behaviour is `auth_core::api::signup`.

use auth_core::{api, store};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let users = store::UserTable::from_env(&aws)?;
    run(service_fn(|request| api::signup(&users, request))).await
}
