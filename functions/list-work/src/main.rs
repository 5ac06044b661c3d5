//! `GET /work`: wiring only; the behaviour is `auth_core::api::list_work`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let work = wiring::Work::build(&wiring::start())?;
    run(service_fn(|request| api::list_work(&work.items, &work.callers, request))).await
}
