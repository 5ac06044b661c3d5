//! `POST /auth`: wiring only; the behaviour is `auth_core::api::auth`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = wiring::Auth::build(&wiring::start()).await?;
    run(service_fn(|request| {
        api::auth(&auth.users, &auth.attempts, &auth.sessions, &auth.throttle, &auth.issuer, request)
    }))
    .await
}
