//! `GET /sessions`: wiring only; the behaviour is `auth_core::api::list_sessions`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sessions = wiring::Sessions::build(&wiring::start())?;
    run(service_fn(|request| api::list_sessions(&sessions.sessions, &sessions.callers, request))).await
}
