//! `POST /auth`: wiring only; the behaviour is `auth_core::api::auth`.

use auth_core::{api, store};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let aws = store::Aws::from_env();
    let issuer = api::Issuer::from_env(&aws).await?;
    let users = store::UserTable::from_env(&aws)?;
    let attempts = store::LoginAttemptTable::from_env(&aws)?;
    let sessions = store::RefreshTokenTable::from_env(&aws)?;
    run(service_fn(|request| api::auth(&users, &attempts, &sessions, &issuer, request))).await
}
