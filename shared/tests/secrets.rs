//! Signing-key rotation against a Secrets Manager emulator (moto, started by `make test`):
//! the four rotation steps, then loading `AWSCURRENT` and `AWSPREVIOUS` as verifiers do.

use auth_core::{
    config::{KeySource, SecretsManagerKeys, SigningKeys, TokenSettings},
    refresh::RefreshToken,
    rotation::{SecretsManagerVersions, generate_key, rotate},
    store,
    tokens::{KEY_ACTIVATION_DELAY, TokenService, key_id, previous_key_verifies_for, unix_now},
};
use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;

async fn client() -> aws_sdk_secretsmanager::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER is unset: run `make test`, which starts a Secrets Manager emulator",
    );
    assert!(endpoint.starts_with("http://127.0.0.1:"), "only a local emulator is allowed, not {endpoint}");
    aws_sdk_secretsmanager::Client::new(&store::aws_config())
}

fn step(name: &str, arn: &str, token: &str) -> SecretsManagerSecretRotationEvent {
    let mut event = SecretsManagerSecretRotationEvent::default();
    event.step = name.into();
    event.secret_id = arn.into();
    event.client_request_token = token.into();
    event
}

#[tokio::test]
async fn a_rotation_makes_a_new_current_key_and_keeps_the_old_one_verifying() {
    let client = client().await;
    let name = format!("jwt-test-{}", ulid::Ulid::new());
    let old_key = generate_key();
    let arn = client.create_secret().name(&name).secret_string(&old_key).send().await.unwrap().arn.unwrap();
    let source = SecretsManagerKeys { client: client.clone(), arn: arn.clone() };

    let before = load(&source).await;
    assert!(before.previous.is_none());
    let signer = TokenService::with_keys(&before, TokenSettings::default(), None);
    let old_token = signer.issue("u1", "joe", 0, unix_now()).unwrap().token;

    let token = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new()); // 32–64 characters, as Secrets Manager requires
    let versions = SecretsManagerVersions(client.clone());
    for name in ["createSecret", "createSecret", "setSecret", "testSecret", "finishSecret"] {
        rotate(&versions, &step(name, &arn, &token)).await.unwrap();
    }

    let after = load(&source).await;
    assert_eq!(after.previous.as_ref().map(key_id), Some(key_id(&before.current)));
    assert_ne!(key_id(&after.current), key_id(&before.current));
    let verifier = TokenService::with_keys(&after, TokenSettings::default(), Some(Box::new(source)));
    assert!(verifier.verify(&old_token, unix_now()).is_ok(), "tokens of the previous key still verify");
    // The new key was created just now: it verifies, but the old one still signs, so an instance
    // that missed the rotation (and may not reload yet) verifies what a fresh one issues.
    let during = verifier.issue("u1", "joe", 0, unix_now()).unwrap().token;
    assert!(signer.verify(&during, unix_now()).is_ok(), "an instance that missed the rotation");
    let new_token = TokenService::with_keys(&activated(after), TokenSettings::default(), None)
        .issue("u1", "joe", 0, unix_now())
        .unwrap()
        .token;
    assert!(signer.verify(&new_token, unix_now()).is_err(), "past the delay, the new key signs");
    assert!(verifier.verify(&new_token, unix_now()).is_ok());
    client.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
}

/// The keys as a function with the default settings loads them.
async fn load(source: &SecretsManagerKeys) -> SigningKeys {
    source.load(previous_key_verifies_for(&TokenSettings::default())).await.unwrap()
}

/// The keys as loaded once the current one is past the activation delay, when it signs.
fn activated(keys: SigningKeys) -> SigningKeys {
    SigningKeys { current_created: keys.current_created.map(|t| t - KEY_ACTIVATION_DELAY), ..keys }
}

/// A secret rotated once, with two services: `stale` loaded its keys before the rotation (and
/// can reload them), `fresh` after it, signing with the new key.
struct Rotated {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
    stale: TokenService,
    fresh: TokenService,
}

impl Rotated {
    async fn new() -> Self {
        let client = client().await;
        let name = format!("jwt-test-{}", ulid::Ulid::new());
        let arn = client
            .create_secret()
            .name(&name)
            .secret_string(generate_key())
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        let source = SecretsManagerKeys { client: client.clone(), arn: arn.clone() };
        let stale = TokenService::with_keys(
            &load(&source).await,
            TokenSettings::default(),
            Some(Box::new(source.clone())),
        );
        let token = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new()); // 32–64 characters, as Secrets Manager requires
        let versions = SecretsManagerVersions(client.clone());
        for name in ["createSecret", "testSecret", "finishSecret"] {
            rotate(&versions, &step(name, &arn, &token)).await.unwrap();
        }
        let fresh = TokenService::with_keys(&activated(load(&source).await), TokenSettings::default(), None);
        Self { client, arn, stale, fresh }
    }

    async fn delete(self) {
        self.client
            .delete_secret()
            .secret_id(&self.arn)
            .force_delete_without_recovery(true)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_verifier_that_missed_the_rotation_reloads_on_the_new_kid() {
    let rotated = Rotated::new().await;
    let (stale, fresh) = (&rotated.stale, &rotated.fresh);
    let new_token = fresh.issue("u1", "joe", 0, unix_now()).unwrap().token;

    assert!(stale.verify(&new_token, unix_now()).is_err());
    // Loaded just now, so the once-a-minute guard holds it back…
    assert!(stale.verify_following_rotation(&new_token, unix_now()).await.is_err());
    // …until the keys are old enough to reload.
    assert!(stale.reload_keys_if_older_than(std::time::Duration::ZERO).await.unwrap());
    assert!(stale.verify(&new_token, unix_now()).is_ok());
    rotated.delete().await;
}

/// A refresh retried within the grace window can reach an instance that has not seen the
/// rotation the first instance derived the child with; after reloading, it finds that child.
#[tokio::test]
async fn refresh_children_follow_the_keys_an_instance_reloads() {
    let rotated = Rotated::new().await;
    let (stale, fresh) = (&rotated.stale, &rotated.fresh);
    let parent = RefreshToken::generate();
    let child = fresh.children().child_of(&parent);

    assert!(stale.children().find_child(&parent, &child.hash()).is_none());
    assert!(stale.reload_keys_if_older_than(std::time::Duration::ZERO).await.unwrap());
    let found = stale.children().find_child(&parent, &child.hash()).expect("found after the reload");
    assert_eq!(found.expose(), child.expose());
    // Reloaded within the activation delay, it still derives with the old key; the fresh one
    // finds those children too.
    let meanwhile = stale.children().child_of(&parent);
    assert!(fresh.children().find_child(&parent, &meanwhile.hash()).is_some());
    rotated.delete().await;
}
