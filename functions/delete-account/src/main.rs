//! `DELETE /account`: wiring only; the behaviour is `auth_core::api::delete_account`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let delete = wiring::DeleteAccount::build(&wiring::start()).await?;
    run(service_fn(|request| {
        api::delete_account(
            &delete.tables.users,
            &delete.attempts,
            &delete.tables,
            &delete.callers,
            &delete.audit,
            request,
        )
    }))
    .await
}
