//! Secrets Manager rotation of the JWT signing key: wiring only; the behaviour is
//! `auth_core::api::rotate_key`.

use auth_core::{api, keys, wiring};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let rotate = wiring::RotateKey::build(&wiring::start())?;
    let (versions, public_keys, min_age) =
        (&rotate.versions, &rotate.public_keys_arn, rotate.min_current_age);
    run(service_fn(|event| api::rotate_key(versions, public_keys, keys::generate, min_age, event))).await
}
