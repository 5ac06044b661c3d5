//! `GET /account`: wiring only; the behaviour is `auth_core::api::export_account`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let export = wiring::ExportAccount::build(&wiring::start())?;
    run(service_fn(|request| {
        api::export_account(&export.users, &export.sessions, &export.items, &export.callers, request)
    }))
    .await
}
