//! The client set-up: TLS roots, the lazy connector, endpoint overrides, one shared client.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use aws_sdk_dynamodb::{config::ConfigBag, error::SdkError};
use aws_smithy_runtime_api::client::{
    http::{HttpConnector, HttpConnectorFuture},
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponentsBuilder,
};

use super::*;
use crate::{BoxError, testing::dynamodb_client_on};

/// A DynamoDB client on [`https_client`] for `endpoint`, one attempt per call.
fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    dynamodb_client_on(https_client(), endpoint)
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
    let certificate = CertificateDer::from_pem_slice(include_bytes!("../../tests/fixtures/not-aws-cert.pem"));
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

/// The SDK asks each new client's HTTP client for a connector it then drops; behind
/// [`ConnectorOnFirstRequest`] none is built until a request needs one.
#[tokio::test]
async fn the_tls_connector_is_built_for_the_first_request_not_with_the_client() {
    let sdk_alone = Arc::new(ConnectorBuilds::default());
    dynamodb_client_on(SharedHttpClient::new(CountingClient(sdk_alone.clone())), "http://127.0.0.1:1");
    assert_eq!(sdk_alone.eager.load(Ordering::SeqCst), 1, "the SDK no longer builds one eagerly");

    let ours = Arc::new(ConnectorBuilds::default());
    let inner = SharedHttpClient::new(CountingClient(ours.clone()));
    let client =
        dynamodb_client_on(SharedHttpClient::new(ConnectorOnFirstRequest(inner)), "http://127.0.0.1:1");
    assert_eq!(ours.eager.load(Ordering::SeqCst), 0);
    assert_eq!(ours.for_requests.load(Ordering::SeqCst), 0);
    let error = client.list_tables().send().await.unwrap_err();
    assert!(matches!(error, SdkError::DispatchFailure(_)), "{error:?}");
    assert_eq!((ours.eager.load(Ordering::SeqCst), ours.for_requests.load(Ordering::SeqCst)), (0, 1));
}

fn endpoint(env: &[(&str, &str)], service_id: &str) -> Option<String> {
    let key =
        ServiceConfigKey::builder().service_id(service_id).env("AWS_ENDPOINT_URL").profile("endpoint_url");
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
    EnvEndpoints(Env::from(env)).load_config(key.build().unwrap())
}

#[test]
fn endpoints_come_from_the_service_variable_then_the_global_one() {
    let env = [("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"), ("AWS_ENDPOINT_URL", "http://global")];
    assert_eq!(endpoint(&env, "DynamoDB").as_deref(), Some("http://127.0.0.1:8000"));
    assert_eq!(endpoint(&env, "Secrets Manager").as_deref(), Some("http://global"));
    let env = [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000")];
    assert_eq!(endpoint(&env, "Secrets Manager").as_deref(), Some("http://127.0.0.1:5000"));
    assert_eq!(endpoint(&env, "DynamoDB"), None);
}

#[test]
fn the_tables_of_one_function_share_one_dynamodb_client() {
    let aws = Aws::new(&AwsSettings::default());
    let (first, second) = (aws.dynamodb(), aws.dynamodb());
    assert!(std::ptr::eq(first.config(), second.config()));
    assert!(!std::ptr::eq(first.config(), Aws::new(&AwsSettings::default()).dynamodb().config()));
}
