//! Secrets Manager rotation of the JWT signing key: wiring only; the behaviour is
//! `auth_core::rotation::rotate`.

use auth_core::{
    rotation::{SecretsManagerVersions, rotate},
    store,
};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    auth_core::logging::init();
    let versions = SecretsManagerVersions(aws_sdk_secretsmanager::Client::new(&store::aws_config()));
    run(service_fn(|event: LambdaEvent<_>| {
        let versions = &versions;
        async move { rotate(versions, &event.payload).await.map_err(Diagnostic::from) }
    }))
    .await
}
