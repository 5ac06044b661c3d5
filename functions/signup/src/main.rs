//! `POST /signup`: wiring only; the behaviour is `auth_core::api::signup`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let signup = wiring::Signup::build(&wiring::start())?;
    run(service_fn(|request| api::signup(&signup.users, request))).await
}
