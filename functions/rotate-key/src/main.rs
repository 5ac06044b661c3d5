//! Secrets Manager rotation of the JWT signing key: wiring only; the behaviour is
//! `auth_core::api::rotate_key`.

use auth_core::{api, keys, wiring};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let rotate = wiring::RotateKey::build(&wiring::start())?;
    run(service_fn(|event| api::rotate_key(&rotate.versions, &rotate.public_keys_arn, keys::generate, event)))
        .await
}
