//! Signing-key rotation against a Secrets Manager emulator (moto, started by `make test`):
//! the four rotation steps, then loading `AWSCURRENT` and `AWSPREVIOUS` as verifiers do.

mod support;

use std::time::Duration;

use auth_core::{
    clock::unix_now,
    keys::{
        KEY_ACTIVATION_DELAY, KeySource, PREVIOUS_KEY_ISSUES_FOR, SigningKeys, SigningSecret, key_id,
        rotation::{generate_key, rotate},
        secrets_manager::{SecretsManagerKeys, SecretsManagerVersions},
    },
    refresh::{ChildDeriver, RefreshToken},
    tokens::{LEEWAY_SECONDS, TokenService, TokenSettings, previous_key_verifies_for},
};

/// A client of the emulator `make test` started, or `None` when none runs.
fn client() -> Option<aws_sdk_secretsmanager::Client> {
    let endpoint = support::local("AWS_ENDPOINT_URL_SECRETS_MANAGER", "the Secrets Manager suite")?;
    assert!(endpoint.starts_with("http://127.0.0.1:"), "only a local emulator is allowed, not {endpoint}");
    Some(aws_sdk_secretsmanager::Client::new(&support::sdk_config()))
}

/// The refresh-token children `tokens` derives with its keys in force.
fn children(tokens: &TokenService) -> ChildDeriver {
    ChildDeriver::for_ring(&tokens.keys().ring(), unix_now())
}

#[tokio::test]
async fn a_rotation_makes_a_new_current_key_and_keeps_the_old_one_verifying() {
    let Some(client) = client() else { return };
    let name = format!("jwt-test-{}", ulid::Ulid::new());
    let old_key = generate_key();
    let arn = client.create_secret().name(&name).secret_string(&old_key).send().await.unwrap().arn.unwrap();
    let source = SecretsManagerKeys { client: client.clone(), arn: arn.clone() };

    let before = load(&source).await;
    assert!(before.previous.is_none());
    let signer = TokenService::with_keys(&before, TokenSettings::default(), None);
    let old_token = signer.issue("u1", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", unix_now()).unwrap().token;

    let token = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new()); // 32–64 characters, as Secrets Manager requires
    let versions = SecretsManagerVersions(client.clone());
    for name in ["createSecret", "createSecret", "setSecret", "testSecret", "finishSecret"] {
        rotate(&versions, &arn, &token, name).await.unwrap();
    }

    let after = load(&source).await;
    assert_eq!(after.previous.as_ref().map(key_id), Some(key_id(&before.current)));
    assert_ne!(key_id(&after.current), key_id(&before.current));
    let verifier = TokenService::with_keys(&after, TokenSettings::default(), Some(Box::new(source)));
    assert!(verifier.verify(&old_token, unix_now()).is_ok(), "tokens of the previous key still verify");
    // The new key was created just now: it verifies, but the old one still signs, so an instance
    // that missed the rotation (and may not reload yet) verifies what a fresh one issues.
    let during = verifier.issue("u1", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", unix_now()).unwrap().token;
    assert!(signer.verify(&during, unix_now()).is_ok(), "an instance that missed the rotation");
    let new_token = TokenService::with_keys(&activated(after), TokenSettings::default(), None)
        .issue("u1", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", unix_now())
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
    async fn new() -> Option<Self> {
        let client = client()?;
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
            rotate(&versions, &arn, &token, name).await.unwrap();
        }
        let fresh = TokenService::with_keys(&activated(load(&source).await), TokenSettings::default(), None);
        Some(Self { client, arn, stale, fresh })
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
    let Some(rotated) = Rotated::new().await else { return };
    let (stale, fresh) = (&rotated.stale, &rotated.fresh);
    let new_token = fresh.issue("u1", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", unix_now()).unwrap().token;

    assert!(stale.verify(&new_token, unix_now()).is_err());
    // Loaded just now, so the once-a-minute guard holds it back…
    assert!(stale.verify_following_rotation(&new_token, unix_now()).await.is_err());
    // …until the keys are old enough to reload.
    assert!(stale.reload_keys_if_older_than(Duration::ZERO).await.unwrap());
    assert!(stale.verify(&new_token, unix_now()).is_ok());
    rotated.delete().await;
}

/// A refresh retried within the grace window can reach an instance that has not seen the
/// rotation the first instance derived the child with; after reloading, it finds that child.
#[tokio::test]
async fn refresh_children_follow_the_keys_an_instance_reloads() {
    let Some(rotated) = Rotated::new().await else { return };
    let (stale, fresh) = (&rotated.stale, &rotated.fresh);
    let parent = RefreshToken::generate();
    let child = children(fresh).child_of(&parent);

    assert!(children(stale).find_child(&parent, &child.hash()).is_none());
    assert!(stale.reload_keys_if_older_than(Duration::ZERO).await.unwrap());
    let found = children(stale).find_child(&parent, &child.hash()).expect("found after the reload");
    assert_eq!(found.expose(), child.expose());
    // Reloaded within the activation delay, it still derives with the old key; the fresh one
    // finds those children too.
    let meanwhile = children(stale).child_of(&parent);
    assert!(children(fresh).find_child(&parent, &meanwhile.hash()).is_some());
    rotated.delete().await;
}

/// A verifier that loaded its keys before a rotation holds the old key to its bound from its
/// first reload by age: a token the old key signed after the bound (only a key leaked at the
/// rotation could) is refused, where before the reload the old key was still its current one.
#[tokio::test]
async fn a_verifier_that_loaded_before_a_rotation_refuses_the_old_keys_late_tokens_once_its_keys_age() {
    let Some(client) = client() else { return };
    let name = format!("jwt-test-{}", ulid::Ulid::new());
    let old_key = generate_key();
    let arn = client.create_secret().name(&name).secret_string(&old_key).send().await.unwrap().arn.unwrap();
    let source = SecretsManagerKeys { client: client.clone(), arn: arn.clone() };
    let verifier = |age| {
        let source = source.clone();
        async move {
            let keys = load(&source).await;
            TokenService::with_keys(&keys, TokenSettings::default(), Some(Box::new(source)))
                .reloading_keys_after(age)
        }
    };
    let (young, aging) = (verifier(Duration::from_secs(3_600)).await, verifier(Duration::ZERO).await);

    let token = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new());
    let versions = SecretsManagerVersions(client.clone());
    for step in ["createSecret", "testSecret", "finishSecret"] {
        rotate(&versions, &arn, &token, step).await.unwrap();
    }
    let late = unix_now() + PREVIOUS_KEY_ISSUES_FOR.as_secs() + LEEWAY_SECONDS + 5;
    let leaked = SigningSecret::new(old_key.into_bytes()).unwrap();
    let minted = TokenService::new(&leaked, TokenSettings::default());
    let late_token = minted.issue("u1", "joe", 0, "s1", late).unwrap().token;
    assert!(young.verify_following_rotation(&late_token, late).await.is_ok(), "not reloaded yet: no bound");
    let refused = aging.verify_following_rotation(&late_token, late).await;
    assert!(refused.is_err(), "reloaded by age, it knows the old key's bound: {refused:?}");
    let early_token = minted.issue("u1", "joe", 0, "s1", unix_now()).unwrap().token;
    assert!(aging.verify_following_rotation(&early_token, unix_now()).await.is_ok(), "within the bound");
    client.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
}
