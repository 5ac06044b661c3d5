//! Signing-key rotation against a Secrets Manager emulator (moto, started by `make test`): the
//! four rotation steps on the private-key secret and its public twin, from a new stack's
//! placeholder to its first key and on to the next, then loading `AWSCURRENT` and `AWSPREVIOUS`
//! as signers (private keys) and verifiers (public keys only) do.

mod support;

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use auth_core::{
    BoxError,
    clock::unix_now,
    keys::{
        KeyMaterial, KeySet, KeySource, PrivateKey, ServerSecret,
        rotation::{KeySecrets, rotate},
        secrets_manager::{Half, SecretsManagerKeys, SecretsManagerVersions},
    },
    refresh::{ChildDeriver, RefreshToken},
    tokens::{LEEWAY_SECONDS, TokenService, TokenSettings, previous_key_verifies_for},
};

/// The test-only keys rotation "generates", in turn.
const PEMS: [&str; 3] = [
    include_str!("fixtures/test-only-rsa-1.pem"),
    include_str!("fixtures/test-only-rsa-2.pem"),
    include_str!("fixtures/test-only-rsa-3.pem"),
];

/// Stands in for `keys::generate` (slow in a debug build): the fixtures, one after the other.
fn generate() -> Result<String, BoxError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    Ok(PEMS[NEXT.fetch_add(1, Ordering::Relaxed) % PEMS.len()].to_owned())
}

/// A client of the emulator `make test` started, or `None` when none runs.
fn client() -> Option<aws_sdk_secretsmanager::Client> {
    let endpoint = support::local("AWS_ENDPOINT_URL_SECRETS_MANAGER", "the Secrets Manager suite")?;
    assert!(endpoint.starts_with("http://127.0.0.1:"), "only a local emulator is allowed, not {endpoint}");
    Some(aws_sdk_secretsmanager::Client::new(&support::sdk_config()))
}

/// The two key secrets of a stack, as the template creates them: a random placeholder each,
/// until the rotation Secrets Manager starts at once makes the first key.
struct Stack {
    client: aws_sdk_secretsmanager::Client,
    private: String,
    public: String,
}

impl Stack {
    /// A new stack's secrets, rotated once: the first key.
    async fn new() -> Option<Self> {
        let client = client()?;
        let create = |name: String| {
            let client = client.clone();
            async move {
                let placeholder = format!("placeholder-{}", ulid::Ulid::new());
                client
                    .create_secret()
                    .name(name)
                    .secret_string(placeholder)
                    .send()
                    .await
                    .unwrap()
                    .arn
                    .unwrap()
            }
        };
        let private = create(support::unique("jwt-private")).await;
        let public = create(support::unique("jwt-public")).await;
        let stack = Self { client, private, public };
        stack.rotate().await;
        Some(stack)
    }

    /// One whole rotation, with the create step retried as Secrets Manager may.
    async fn rotate(&self) {
        let token = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new()); // 32–64 characters, as Secrets Manager requires
        let versions = SecretsManagerVersions(self.client.clone());
        let secrets = KeySecrets { private: &self.private, public: &self.public };
        for step in ["createSecret", "createSecret", "setSecret", "testSecret", "finishSecret"] {
            rotate(&versions, secrets, &token, step, generate, std::time::Duration::ZERO).await.unwrap();
        }
    }

    fn source(&self, half: Half) -> SecretsManagerKeys {
        let arn = match half {
            Half::Private => self.private.clone(),
            Half::Public => self.public.clone(),
        };
        SecretsManagerKeys { client: self.client.clone(), arn, half }
    }

    /// A signer's service, holding the private keys as loaded now.
    async fn signer(&self) -> TokenService {
        let source = self.source(Half::Private);
        TokenService::with_keys(&load(&source).await, TokenSettings::default(), Some(Box::new(source)))
    }

    /// A verifier's service, holding the public keys as loaded now.
    async fn verifier(&self) -> TokenService {
        let source = self.source(Half::Public);
        TokenService::with_keys(&load(&source).await, TokenSettings::default(), Some(Box::new(source)))
    }

    async fn delete(self) {
        for arn in [self.private, self.public] {
            self.client
                .delete_secret()
                .secret_id(arn)
                .force_delete_without_recovery(true)
                .send()
                .await
                .unwrap();
        }
    }
}

/// The keys as a function with the default settings loads them.
async fn load(source: &SecretsManagerKeys) -> KeySet {
    source.load(previous_key_verifies_for(&TokenSettings::default())).await.unwrap()
}

/// The keys as loaded once the current one is past the activation delay, when it signs.
fn activated(keys: KeySet) -> KeySet {
    KeySet {
        current_created: keys
            .current_created
            .map(|t| t - TokenSettings::default().key_timing().activation_delay),
        ..keys
    }
}

fn issue(tokens: &TokenService, now: u64) -> String {
    tokens.issue("u1", "joe", 0, "01JDQ8ZS5W7X9Y1Z3A5B7C9D1E", "", now).unwrap().token
}

#[tokio::test]
async fn a_new_stacks_first_key_signs_at_once_and_verifiers_hold_only_its_public_half() {
    let Some(stack) = Stack::new().await else { return };
    let private = load(&stack.source(Half::Private)).await;
    let public = load(&stack.source(Half::Public)).await;
    assert!(matches!(private.current, KeyMaterial::Private(_)));
    assert!(matches!(public.current, KeyMaterial::Public(_)));
    assert_eq!(private.current.public(), public.current.public(), "the public secret holds its half");
    assert!(private.previous.is_none() && public.previous.is_none(), "the placeholder is no key");
    let token = issue(&stack.signer().await, unix_now());
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(public.current.public().kid()), "the first key signs at once");
    assert!(stack.verifier().await.verify(&token, unix_now()).is_ok());
    assert!(
        stack.verifier().await.issue("u1", "joe", 0, "s", "", unix_now()).is_err(),
        "a verifier cannot sign"
    );
    stack.delete().await;
}

#[tokio::test]
async fn a_rotation_makes_a_new_current_key_and_keeps_the_old_one_verifying() {
    let Some(stack) = Stack::new().await else { return };
    let before = load(&stack.source(Half::Public)).await;
    let signer = stack.signer().await;
    let old_token = issue(&signer, unix_now());

    stack.rotate().await;

    let after = load(&stack.source(Half::Public)).await;
    assert_eq!(after.previous.as_ref().map(|k| k.public().kid()), Some(before.current.public().kid()));
    assert_ne!(after.current.public().kid(), before.current.public().kid());
    let verifier = stack.verifier().await;
    assert!(verifier.verify(&old_token, unix_now()).is_ok(), "tokens of the previous key still verify");
    // The new key was created just now: it verifies, but the old one still signs, so an instance
    // that missed the rotation (and may not reload yet) verifies what a fresh one issues.
    let during = issue(&stack.signer().await, unix_now());
    assert!(signer.verify(&during, unix_now()).is_ok(), "an instance that missed the rotation");
    let activated_signer = TokenService::with_keys(
        &activated(load(&stack.source(Half::Private)).await),
        TokenSettings::default(),
        None,
    );
    let new_token = issue(&activated_signer, unix_now());
    assert!(signer.verify(&new_token, unix_now()).is_err(), "past the delay, the new key signs");
    assert!(verifier.verify(&new_token, unix_now()).is_ok());
    stack.delete().await;
}

#[tokio::test]
async fn a_verifier_that_missed_the_rotation_reloads_on_the_new_kid() {
    let Some(stack) = Stack::new().await else { return };
    let stale = stack.verifier().await;
    stack.rotate().await;
    let fresh = TokenService::with_keys(
        &activated(load(&stack.source(Half::Private)).await),
        TokenSettings::default(),
        None,
    );
    let new_token = issue(&fresh, unix_now());

    assert!(stale.verify(&new_token, unix_now()).is_err());
    // Loaded just now, so the once-a-minute guard holds it back…
    assert!(stale.verify_following_rotation(&new_token, unix_now()).await.is_err());
    // …until the keys are old enough to reload.
    assert!(stale.reload_keys_if_older_than(Duration::ZERO).await.unwrap());
    assert!(stale.verify(&new_token, unix_now()).is_ok());
    stack.delete().await;
}

/// A verifier that loaded its keys before a rotation holds the old key to its bound from its
/// first reload by age: a token the old key signed after the bound (only a key leaked at the
/// rotation could) is refused, where before the reload the old key was still its current one.
#[tokio::test]
async fn a_verifier_that_loaded_before_a_rotation_refuses_the_old_keys_late_tokens_once_its_keys_age() {
    let Some(stack) = Stack::new().await else { return };
    let KeyMaterial::Private(old_key) = load(&stack.source(Half::Private)).await.current else {
        panic!("a signer's source yields private keys")
    };
    let young = stack.verifier().await.reloading_keys_after(Duration::from_secs(3_600));
    let aging = stack.verifier().await.reloading_keys_after(Duration::ZERO);

    stack.rotate().await;
    let late = unix_now()
        + TokenSettings::default().key_timing().previous_issues_for().as_secs()
        + LEEWAY_SECONDS
        + 5;
    let minted = TokenService::new(&old_key, TokenSettings::default());
    let late_token = issue(&minted, late);
    assert!(young.verify_following_rotation(&late_token, late).await.is_ok(), "not reloaded yet: no bound");
    let refused = aging.verify_following_rotation(&late_token, late).await;
    assert!(refused.is_err(), "reloaded by age, it knows the old key's bound: {refused:?}");
    let early_token = issue(&minted, unix_now());
    assert!(aging.verify_following_rotation(&early_token, unix_now()).await.is_ok(), "within the bound");
    stack.delete().await;
}

/// What `auth` and `refresh` read as they start, deployed: the private key and the server
/// secret in one `BatchGetSecretValue`; a server secret that cannot be read stops them. (The
/// secret holds its key from creation: moto's `BatchGetSecretValue` answers a secret's first
/// version, not the one a rotation made current.)
#[tokio::test]
async fn a_function_that_mints_sessions_reads_both_secrets_in_one_request() {
    let Some(client) = client() else { return };
    let create = |name: String, value: String| {
        let client = client.clone();
        async move { client.create_secret().name(name).secret_string(value).send().await.unwrap().arn.unwrap() }
    };
    let server = format!("secrets-tests-server-secret-{}", ulid::Ulid::new());
    let private_arn = create(support::unique("jwt-private"), PEMS[0].to_owned()).await;
    let server_arn = create(support::unique("server"), server.clone()).await;
    let source = SecretsManagerKeys { client: client.clone(), arn: private_arn.clone(), half: Half::Private };
    let within = previous_key_verifies_for(&TokenSettings::default());
    let (keys, loaded_server) = source.load_with_server_secret(&server_arn, within).await.unwrap();
    assert_eq!(keys.current.public(), PrivateKey::from_pem(PEMS[0]).unwrap().public());
    assert!(matches!(keys.current, KeyMaterial::Private(_)));
    assert!(keys.previous.is_none() && keys.current_created.is_some());
    let parent = RefreshToken::generate();
    let expected = ChildDeriver::new(&ServerSecret::new(server.as_bytes()).unwrap());
    assert_eq!(
        ChildDeriver::new(&loaded_server).child_of(&parent).expose(),
        expected.child_of(&parent).expose()
    );

    let missing = format!("{server_arn}-missing");
    assert!(source.load_with_server_secret(&missing, within).await.is_err(), "no server secret: no start");
    for arn in [private_arn, server_arn] {
        client.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
    }
}

#[test]
fn the_fixtures_are_usable_keys() {
    for pem in PEMS {
        assert!(PrivateKey::from_pem(pem).is_ok());
    }
}
