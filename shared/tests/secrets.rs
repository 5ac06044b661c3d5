//! Signing-key rotation against a Secrets Manager emulator (moto, started by `make test`):
//! the four rotation steps, then loading `AWSCURRENT` and `AWSPREVIOUS` as verifiers do.

mod support;

use std::time::Duration;

use auth_core::{
    clock::unix_now,
    keys::{
        KEY_ACTIVATION_DELAY, KeySource, PREVIOUS_KEY_ISSUES_FOR, ServerSecret, SigningKeys, SigningSecret,
        key_id,
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
    let server = ServerSecret::new(b"secrets-tests-server-secret-0123456789").unwrap();
    ChildDeriver::new(&server, &tokens.keys().ring(), unix_now())
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

/// A refresh retried within the grace window can reach an instance that has not seen a rotation
/// the first instance saw.
#[tokio::test]
async fn refresh_children_are_the_same_on_both_sides_of_a_signing_key_rotation() {
    let Some(rotated) = Rotated::new().await else { return };
    let (stale, fresh) = (&rotated.stale, &rotated.fresh);
    let parent = RefreshToken::generate();
    // Derived with the server secret, which rotation leaves alone: an instance that missed the
    // rotation hands out, and finds, the very child one that saw it does; no reload is needed.
    let child = children(fresh).child_of(&parent);
    assert_eq!(children(stale).child_of(&parent).expose(), child.expose());
    let found = children(stale).find_child(&parent, &child.hash()).expect("found without a reload");
    assert_eq!(found.expose(), child.expose());
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

/// What `auth` and `refresh` read as they start, deployed: the signing key and the server
/// secret in one `BatchGetSecretValue`; a server secret that cannot be read stops them.
#[tokio::test]
async fn a_function_that_mints_sessions_reads_both_secrets_in_one_request() {
    let Some(client) = client() else { return };
    let create = |name: String, value: String| {
        let client = client.clone();
        async move { client.create_secret().name(name).secret_string(value).send().await.unwrap().arn.unwrap() }
    };
    let (signing, server) = (generate_key(), generate_key());
    let signing_arn = create(format!("jwt-test-{}", ulid::Ulid::new()), signing.clone()).await;
    let server_arn = create(format!("server-test-{}", ulid::Ulid::new()), server.clone()).await;
    let source = SecretsManagerKeys { client: client.clone(), arn: signing_arn.clone() };
    let within = previous_key_verifies_for(&TokenSettings::default());
    let (keys, loaded_server) = source.load_with_server_secret(&server_arn, within).await.unwrap();
    assert_eq!(keys.current.expose(), signing.as_bytes());
    assert!(keys.previous.is_none() && keys.current_created.is_some());
    let parent = RefreshToken::generate();
    let ring = auth_core::keys::KeyRing::new(&keys);
    let expected = ChildDeriver::new(&ServerSecret::new(server.as_bytes()).unwrap(), &ring, unix_now());
    assert_eq!(
        ChildDeriver::new(&loaded_server, &ring, unix_now()).child_of(&parent).expose(),
        expected.child_of(&parent).expose()
    );

    let missing = format!("{}-missing", server_arn);
    assert!(source.load_with_server_secret(&missing, within).await.is_err(), "no server secret: no start");
    for arn in [signing_arn, server_arn] {
        client.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
    }
}
