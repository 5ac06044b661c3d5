//! `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`: wiring only; the
//! behaviour is `auth_core::api::well_known`.

use auth_core::{api, wiring};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let well_known = wiring::WellKnown::build(&wiring::start()).await?;
    run(service_fn(|request| api::well_known(&well_known.discovery, request))).await
}
