//! `POST /refresh`: wiring only; the behaviour is `auth_core::api::refresh`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let refresh = wiring::Refresh::build(&wiring::start()).await?;
    run(service_fn(|request| {
        api::refresh(&refresh.users, &refresh.sessions, &refresh.throttle, &refresh.issuer, request)
    }))
    .await
}
