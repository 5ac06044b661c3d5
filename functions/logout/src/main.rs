//! `POST /logout`: wiring only; the behaviour is `auth_core::api::logout`.

use auth_core::{api, identity::Authenticator, store};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let authenticator = Authenticator::local_from_env(&aws)?;
    let users = store::UserTable::from_env(&aws)?;
    let sessions = store::RefreshTokenTable::from_env(&aws)?;
    run(service_fn(|request| api::logout(&users, &sessions, authenticator.as_ref(), request))).await
}
