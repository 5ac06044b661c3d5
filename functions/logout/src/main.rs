//! `POST /logout`: wiring only; the behaviour is `auth_core::api::logout`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let logout = wiring::Logout::build(&wiring::start())?;
    run(service_fn(|request| api::logout(&logout.users, &logout.sessions, &logout.callers, request))).await
}
