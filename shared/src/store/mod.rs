//! The DynamoDB adapter for the store traits, and the table definitions.

mod attempts;
#[cfg(debug_assertions)]
mod call_log;
mod refresh;
mod schema;
mod users;
mod work;

use std::{marker::PhantomData, sync::OnceLock, time::Duration};

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use aws_runtime::env_config::EnvConfigValue;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, Region, SharedHttpClient, retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::update_item::UpdateItemError,
};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::{
    connector_metadata::ConnectorMetadata,
    http::{HttpClient, HttpConnectorSettings, SharedHttpConnector},
    runtime_components::RuntimeComponents,
};
use aws_types::{
    SdkConfig,
    os_shim_internal::Env,
    service_config::{LoadServiceConfig, ServiceConfigKey},
};

pub use attempts::LoginAttemptTable;
pub use refresh::RefreshTokenTable;
pub use schema::{
    LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, TableSpec, USERS_TABLE, WORK_ITEMS_TABLE,
    create_table_if_absent, delete_table,
};
pub use users::UserTable;
pub use work::WorkItemTable;

use crate::{
    ApiError, BoxError,
    config::{ConfigError, required_env},
};

/// One DynamoDB table holding `K` items: the client and the table's name.
#[derive(Debug, Clone)]
pub struct Table<K> {
    client: aws_sdk_dynamodb::Client,
    name: String,
    kind: PhantomData<K>,
}

/// What a table holds, and the environment variable that names it.
pub trait TableKind {
    const VARIABLE: &'static str;
}

impl<K: TableKind> Table<K> {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Self { client, name: name.into(), kind: PhantomData }
    }

    /// Uses the table named by the kind's environment variable (e.g. `USERS_TABLE`), through
    /// the function's one DynamoDB client.
    pub fn from_env(aws: &Aws) -> Result<Self, ConfigError> {
        Ok(Self::new(aws.dynamodb(), required_env(K::VARIABLE)?))
    }
}

/// A store operation that failed, classified by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the key taken.
    #[error("the item already exists")]
    Conflict,
    /// DynamoDB is unreachable, slow or throttling: retry later.
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, a missing table, a malformed item.
    #[error("unexpected DynamoDB failure")]
    Unexpected(#[source] BoxError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => ApiError::UserExists,
            StoreError::Unavailable(_) => ApiError::Unavailable(Box::new(error)),
            StoreError::Unexpected(_) => ApiError::Internal(Box::new(error)),
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

/// Error codes DynamoDB uses for "slow down" or "try again".
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    // A single-item write that met a transaction in flight on the same item.
    "TransactionConflictException",
];

/// Sorts an SDK error into unavailable (network, timeout, throttling) or unexpected.
pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => service.err().code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(error))
    } else {
        StoreError::Unexpected(Box::new(error))
    }
}

/// An update whose condition no longer held did nothing that still mattered: `Ok`.
pub(crate) fn moot_if_condition_failed<T, R>(
    result: Result<T, SdkError<UpdateItemError, R>>,
) -> Result<(), StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

/// Connect timeout: a dead endpoint fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt's budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole operation's budget, retries included: far below API Gateway's 29 s.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

/// A function's AWS configuration and its one DynamoDB client, which every table shares:
/// building a client takes ~0.1 ms of a cold start, paid once rather than once a table. Not
/// `Clone`: a copy made before the first table would build a second client.
#[derive(Debug)]
pub struct Aws {
    config: SdkConfig,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
}

impl Aws {
    /// From [`aws_config`]; the DynamoDB client is built when the first table asks for it.
    pub fn from_env() -> Self {
        Self { config: aws_config(), dynamodb: OnceLock::new() }
    }

    /// The configuration, for the clients of other services.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The shared DynamoDB client (a handle: clones share one connection pool).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        #[cfg(not(debug_assertions))]
        let client = || aws_sdk_dynamodb::Client::new(&self.config);
        #[cfg(debug_assertions)]
        let client = || call_log::client(&self.config);
        self.dynamodb.get_or_init(client).clone()
    }
}

/// The AWS configuration every client is built from, read once per cold start from the
/// environment, where Lambda puts credentials and region (and the local scripts do too), with
/// timeouts that turn a dead database into a prompt `503`.
///
/// `aws-config`'s loader is not used: its profile files, credential chains (with an STS client)
/// and IMDS cost cold-start time and 0.6–0.75 MB of binary for nothing a Lambda function needs.
/// Endpoint overrides still follow the SDK's rules: `AWS_ENDPOINT_URL_DYNAMODB` points the
/// clients at DynamoDB Local. Missing credentials fail each request, never fall back.
pub fn aws_config() -> SdkConfig {
    let env = Env::real();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let region = env.get("AWS_REGION").or_else(|_| env.get("AWS_DEFAULT_REGION")).ok().map(Region::new);
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .service_config(EnvEndpoints(env.clone()));
    config.set_region(region);
    config.set_credentials_provider(environment_credentials(&env).map(SharedCredentialsProvider::new));
    config.build()
}

/// Lambda's credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
fn environment_credentials(env: &Env) -> Option<Credentials> {
    let id = env.get("AWS_ACCESS_KEY_ID").ok().filter(|v| !v.is_empty())?;
    let secret = env.get("AWS_SECRET_ACCESS_KEY").ok().filter(|v| !v.is_empty())?;
    let session_token = env.get("AWS_SESSION_TOKEN").ok().filter(|v| !v.is_empty());
    Some(Credentials::new(id, secret, session_token, None, "Environment"))
}

/// Per-service settings from environment variables only, by the SDK's own lookup
/// (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`).
#[derive(Debug)]
struct EnvEndpoints(Env);

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let (value, _) =
            EnvConfigValue::new().env(key.env()).service_id(key.service_id()).load(&self.0, None)?;
        Some(value.into_owned())
    }
}

/// The roots AWS service endpoints chain to (Amazon Trust Services); see the file's header.
const AWS_ROOTS: &[u8] = include_bytes!("../../certs/aws-roots.pem");

/// The SDK's HTTPS client (rustls on ring), trusting only [`AWS_ROOTS`]: the default
/// reads every file of the system store at start-up, most of a cold start.
fn https_client() -> SharedHttpClient {
    let roots = TrustStore::empty().with_pem_certificate(AWS_ROOTS);
    let context = TlsContext::builder().with_trust_store(roots).build().expect("a fixed trust store builds");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    SharedHttpClient::new(ConnectorOnFirstRequest(client))
}

/// An HTTP client whose connector (trust store parsed, TLS configured) is built only by the
/// first request, as it always is. The SDK's own client also builds one as each service client
/// is constructed, to load system certificates early, and throws it away: for a fixed trust
/// store that is pure cold-start time (~0.29M instructions a client, BENCHMARKS.md, measure 3).
/// That eager build is the HTTPS client's only configuration check, so none is forwarded.
#[derive(Debug)]
struct ConnectorOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectorOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use aws_sdk_dynamodb::config::{BehaviorVersion, ConfigBag, Credentials, Region};
    use aws_smithy_runtime_api::client::{
        http::{HttpConnector, HttpConnectorFuture, http_client_fn},
        orchestrator::{HttpRequest, HttpResponse},
        result::ConnectorError,
        runtime_components::RuntimeComponentsBuilder,
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::refresh::RefreshTokens;

    /// A DynamoDB client on [`https_client`] for `endpoint`, one attempt per call.
    fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
        client_on(https_client(), endpoint)
    }

    /// A DynamoDB client on `http` for `endpoint`, one attempt per call.
    fn client_on(http: SharedHttpClient, endpoint: &str) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// The trust store is parsed when the first connection is made; a bad bundle would panic there.
    #[tokio::test]
    async fn the_https_client_loads_the_aws_roots_and_fails_cleanly_without_a_server() {
        let error = client("https://127.0.0.1:1").list_tables().send().await.unwrap_err();
        assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
        assert_eq!(AWS_ROOTS.windows(27).filter(|w| w == b"-----BEGIN CERTIFICATE-----").count(), 5);
    }

    /// A TLS server named like DynamoDB, with a certificate that does not chain to an AWS root:
    /// the handshake runs (rustls on ring) and the client refuses the certificate.
    #[tokio::test]
    async fn the_https_client_refuses_a_certificate_outside_the_aws_roots() {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let certificate =
            CertificateDer::from_pem_slice(include_bytes!("../../tests/fixtures/not-aws-cert.pem"));
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../tests/fixtures/not-aws-key.pem"));
        let server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.unwrap()], key.unwrap())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            acceptor.accept(stream).await.map(|_| ())
        });

        let error = client(&format!("https://127.0.0.1:{port}")).list_tables().send().await.unwrap_err();
        assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
        assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");
        let refused = server.await.unwrap().unwrap_err();
        assert!(refused.to_string().contains("alert"), "{refused}");
    }

    /// How many connectors an HTTP client was asked for: eagerly, as a service client is built,
    /// and for requests.
    #[derive(Debug, Default)]
    struct ConnectorBuilds {
        eager: AtomicUsize,
        for_requests: AtomicUsize,
    }

    /// An HTTP client that counts into [`ConnectorBuilds`]; its connector refuses every request.
    #[derive(Debug)]
    struct CountingClient(Arc<ConnectorBuilds>);

    impl HttpClient for CountingClient {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            self.0.for_requests.fetch_add(1, Ordering::SeqCst);
            SharedHttpConnector::new(Refused)
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.eager.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Refused;

    impl HttpConnector for Refused {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err(ConnectorError::io("refused".into())))
        }
    }

    /// A connector that answers every request with HTTP 400 and DynamoDB's JSON error `body`.
    #[derive(Debug)]
    struct Answers(String);

    impl HttpConnector for Answers {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let mut response = HttpResponse::new(400u16.try_into().unwrap(), SdkBody::from(self.0.clone()));
            response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    fn refresh_table_answering(body: String) -> RefreshTokenTable {
        let http = http_client_fn(move |_, _| SharedHttpConnector::new(Answers(body.clone())));
        RefreshTokenTable::new(client_on(http, "http://127.0.0.1:1"), "refresh")
    }

    fn cancelled_by(reason: &str) -> String {
        format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"cancelled",
                "CancellationReasons":[{{"Code":"{reason}"}},{{"Code":"None"}},{{"Code":"None"}}]}}"#
        )
    }

    /// Real DynamoDB cancels one of two transactions on the same item with `TransactionConflict`
    /// (DynamoDB Local serialises them instead, so this is its only test).
    #[tokio::test]
    async fn a_refresh_racing_another_on_the_same_token_is_retryable_not_a_reuse_nor_a_500() {
        let token = crate::refresh::RefreshRecord {
            token_hash: "parent".into(),
            family_id: "f1".into(),
            user_id: "u1".into(),
            username: "joe".into(),
            expires_at: 1_900_000_000,
            used_at_ms: None,
            child_hash: None,
        };
        let raced =
            refresh_table_answering(cancelled_by("TransactionConflict")).rotate(&token, &token, 0, 0).await;
        assert!(matches!(raced, Err(StoreError::Unavailable(_))), "{raced:?}");
        let used = refresh_table_answering(cancelled_by("ConditionalCheckFailed"))
            .rotate(&token, &token, 0, 0)
            .await;
        assert!(matches!(used, Ok(crate::refresh::Rotation::AlreadyUsed)), "{used:?}");
    }

    #[tokio::test]
    async fn a_write_meeting_a_transaction_in_flight_on_its_item_is_retryable() {
        let table = refresh_table_answering(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"in flight"}"#
                .into(),
        );
        let result = table.revoke_family("f1").await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    }

    /// The SDK asks each new client's HTTP client for a connector it then drops; behind
    /// [`ConnectorOnFirstRequest`] none is built until a request needs one.
    #[tokio::test]
    async fn the_tls_connector_is_built_for_the_first_request_not_with_the_client() {
        let sdk_alone = Arc::new(ConnectorBuilds::default());
        client_on(SharedHttpClient::new(CountingClient(sdk_alone.clone())), "http://127.0.0.1:1");
        assert_eq!(sdk_alone.eager.load(Ordering::SeqCst), 1, "the SDK no longer builds one eagerly");

        let ours = Arc::new(ConnectorBuilds::default());
        let inner = SharedHttpClient::new(CountingClient(ours.clone()));
        let client = client_on(SharedHttpClient::new(ConnectorOnFirstRequest(inner)), "http://127.0.0.1:1");
        assert_eq!(ours.eager.load(Ordering::SeqCst), 0);
        assert_eq!(ours.for_requests.load(Ordering::SeqCst), 0);
        let error = client.list_tables().send().await.unwrap_err();
        assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
        assert_eq!((ours.eager.load(Ordering::SeqCst), ours.for_requests.load(Ordering::SeqCst)), (0, 1));
    }

    fn endpoint(env: &[(&str, &str)], service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url");
        EnvEndpoints(Env::from_slice(env)).load_config(key.build().unwrap())
    }

    #[test]
    fn endpoints_come_from_the_service_variable_then_the_global_one() {
        let env =
            [("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"), ("AWS_ENDPOINT_URL", "http://global")];
        assert_eq!(endpoint(&env, "DynamoDB").as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(endpoint(&env, "Secrets Manager").as_deref(), Some("http://global"));
        let env = [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000")];
        assert_eq!(endpoint(&env, "Secrets Manager").as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(endpoint(&env, "DynamoDB"), None);
    }

    #[test]
    fn the_tables_of_one_function_share_one_dynamodb_client() {
        let aws = Aws::from_env();
        let (first, second) = (aws.dynamodb(), aws.dynamodb());
        assert!(std::ptr::eq(first.config(), second.config()));
        assert!(!std::ptr::eq(first.config(), Aws::from_env().dynamodb().config()));
    }

    #[test]
    fn credentials_need_both_keys_and_take_the_session_token_when_present() {
        let full = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ];
        let credentials = environment_credentials(&Env::from_slice(&full)).unwrap();
        assert_eq!((credentials.access_key_id(), credentials.session_token()), ("AKID", Some("token")));
        let no_token = environment_credentials(&Env::from_slice(&full[..2])).unwrap();
        assert_eq!(no_token.session_token(), None);
        assert!(environment_credentials(&Env::from_slice(&full[..1])).is_none());
        assert!(
            environment_credentials(&Env::from_slice(&[
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "")
            ]))
            .is_none()
        );
    }
}
