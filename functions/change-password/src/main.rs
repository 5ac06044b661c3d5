//! `POST /password`: wiring only; the behaviour is `auth_core::api::change_password`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let change = wiring::ChangePassword::build(&wiring::start()).await?;
    run(service_fn(|request| {
        api::change_password(
            &change.users,
            &change.attempts,
            &change.sessions,
            &change.callers,
            &change.issuer,
            request,
        )
    }))
    .await
}
