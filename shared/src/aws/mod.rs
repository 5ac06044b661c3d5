//! The AWS client set-up every function shares: one configuration, one HTTPS client trusting
//! only AWS's roots, timeouts that turn an outage into a prompt `503`, and one DynamoDB client.

#[cfg(debug_assertions)]
mod call_log;

use std::{collections::HashMap, path::PathBuf, sync::OnceLock, time::Duration};

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use aws_runtime::env_config::EnvConfigValue;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, Region, SharedHttpClient, retry::RetryConfig, timeout::TimeoutConfig,
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

/// What the AWS clients are built from: read by `config` from the environment Lambda provides
/// (and the local scripts set), once per cold start.
#[derive(Debug, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    /// Lambda's role credentials; missing credentials fail each request, never fall back.
    pub credentials: Option<Credentials>,
    /// Endpoint overrides by the variable that set them (`AWS_ENDPOINT_URL_DYNAMODB`, ...), as the
    /// SDK resolves them: the service's own variable, then `AWS_ENDPOINT_URL`.
    pub endpoints: HashMap<String, String>,
    /// Debug builds under `make test`: where the DynamoDB client logs the permissions its calls
    /// need (`tests/iam.rs`).
    pub call_log: Option<CallLogTarget>,
}

/// A file to append `<function> <action> <table>` lines to, and the function's name.
#[derive(Debug, Clone)]
pub struct CallLogTarget {
    pub path: PathBuf,
    pub function: String,
}

/// Connect timeout: a dead endpoint fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt's budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole operation's budget, retries included: far below API Gateway's 29 s.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

/// A function's AWS configuration and its one DynamoDB client, which every table shares:
/// building a client is a measurable part of a cold start (BENCHMARKS.md, measure 3), paid once
/// rather than once a table. Not `Clone`: a copy made before the first table would build a
/// second client.
#[derive(Debug)]
pub struct Aws {
    config: SdkConfig,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    call_log: Option<CallLogTarget>,
}

impl Aws {
    /// From [`sdk_config`]; the DynamoDB client is built when the first table asks for it.
    pub fn new(settings: &AwsSettings) -> Self {
        Self { config: sdk_config(settings), dynamodb: OnceLock::new(), call_log: settings.call_log.clone() }
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
        let client = || match &self.call_log {
            Some(log) => call_log::client(&self.config, &log.path, &log.function),
            None => aws_sdk_dynamodb::Client::new(&self.config),
        };
        self.dynamodb.get_or_init(client).clone()
    }
}

/// The AWS configuration every client is built from, with timeouts that turn a dead database
/// into a prompt `503`.
///
/// `aws-config`'s loader is not used: its profile files, credential chains (with an STS client)
/// and IMDS cost cold-start time and binary size for nothing a Lambda function needs
/// (bench/ANALYSIS.md, measure 4). Endpoint overrides still follow the SDK's rules:
/// `AWS_ENDPOINT_URL_DYNAMODB` points the clients at DynamoDB Local.
pub fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .service_config(EnvEndpoints(Env::from(settings.endpoints.clone())));
    config.set_region(settings.region.clone().map(Region::new));
    config.set_credentials_provider(settings.credentials.clone().map(SharedCredentialsProvider::new));
    config.build()
}

/// Per-service settings from the endpoint overrides only, by the SDK's own lookup
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

/// The SDK's HTTPS client (rustls on ring), trusting only [`AWS_ROOTS`]: the default reads every
/// file of the system store at start-up, most of a cold start. The admin CLI uses it too.
pub fn https_client() -> SharedHttpClient {
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
/// store that is pure cold-start time (BENCHMARKS.md, measure 3).
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
mod tests;
