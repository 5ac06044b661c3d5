//! Measure 3: a process under a minimal Lambda Runtime API emulator. Cold runs start a fresh
//! process per sample: init (exec → first `/next`) is timed in processes stopped there, and the
//! first response (exec → first response) in as many more that each serve one event; a warm run
//! sends thousands of invocations to one process. CPU time and peak RSS come from `wait4`.
//! Init is timed apart because a start that follows one whose event reached DynamoDB Local
//! runs slower, whatever the binary: the database's JVM shares this machine's cores, while on
//! Lambda it is another service (bench/ANALYSIS.md, measure 3). Those slower inits are kept as
//! `serving_init_ms`.
//! With `--floor`, the init-only starts alternate in blocks of [`COLD_BLOCK`], the floor's then
//! the command's, so the two are compared over the same minutes of a shared machine whose speed
//! drifts. Blocks, not single runs: a process started right after a different binary runs
//! slower (measured: the echo floor 11 % slower after each authorizer run), which would
//! flatter the bigger binary.
//! The emulator also stands in for Secrets Manager (`AWS_ENDPOINT_URL_SECRETS_MANAGER`). With
//! `--keys-from-secrets-manager` it serves the key secrets as deployed, so a function reads them
//! at init: a signer (`auth`, `refresh`) its private key, a PEM, with the server secret
//! (`JWT_PRIVATE_KEY_ARN`, `SERVER_SECRET_ARN`: one `BatchGetSecretValue` for both), a verifier
//! (the authorizer) the public key, a JWK (`JWT_PUBLIC_KEYS_ARN`: one `GetSecretValue`). The SDK
//! client, the signed request and its parsing are measured, the network round trips are not.
//! Every other call it refuses with `ResourceNotFoundException`.
//! With `--key-from-dynamodb` it stands in for DynamoDB too and serves the public key as the item
//! of any `GetItem`: the fourth floor, a key read through the client every function has.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    config::{
        JWT_PREVIOUS_PRIVATE_KEY, JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_ARN, JWT_PUBLIC_KEYS_ARN, SERVER_SECRET,
        SERVER_SECRET_ARN,
    },
    keys::PrivateKey,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request, Response, StatusCode, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::{net::TcpListener, sync::Notify};

use crate::{Error, rusage_cpu_micros, write_json};

const GET_SECRET_VALUE: &str = "secretsmanager.GetSecretValue";
const BATCH_GET_SECRET_VALUE: &str = "secretsmanager.BatchGetSecretValue";
const GET_ITEM: &str = "DynamoDB_20120810.GetItem";

/// Cold starts in a row of one binary, when alternating with the floor.
const COLD_BLOCK: usize = 10;
/// How much longer each warm process's environment is than the one before.
const WARM_PADDING_STEP: usize = 64;
/// Warm invocations left out of the wall-time samples while the process settles.
const WARM_SETTLE: usize = 100;
const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// What the emulator saw of one process.
struct ProcessRun {
    init: Duration,
    responses: Vec<Duration>,
    cpu_us: f64,
    max_rss_kib: f64,
    first_response: String,
}

/// The ARN the signers are given in `JWT_PRIVATE_KEY_ARN`: PEM private keys.
const BENCH_PRIVATE_KEY_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-private-key-AbCdEf";
/// The ARN the verifiers are given in `JWT_PUBLIC_KEYS_ARN`: their public halves, as JWKs.
const BENCH_PUBLIC_KEYS_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-public-keys-AbCdEf";
/// The ARN the signers are given in `SERVER_SECRET_ARN`.
const BENCH_SERVER_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-server-AbCdEf";
/// The server secret served when `$SERVER_SECRET` is unset: for the bench only.
const BENCH_SERVER_SECRET: &str = "bench-only-server-secret-Zx8vQ2mN7pL4kR9sT1wY6bC3dF5gH0jA";
/// The previous key the stand-in serves when `$JWT_PREVIOUS_PRIVATE_KEY` is unset: a test-only one.
const PREVIOUS_KEY: &str = include_str!("../../shared/tests/fixtures/test-only-rsa-3.pem");
/// When the current and previous versions were created: long ago, so a function reads only the
/// current one, as most cold starts after a rotation do.
const CURRENT_CREATED: u64 = 1_700_086_400;
const PREVIOUS_CREATED: u64 = 1_700_000_000;

/// The service the emulator serves the keys from, standing in for it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyService {
    /// `GetSecretValue` and `BatchGetSecretValue` of the key secrets, as deployed.
    SecretsManager,
    /// `GetItem`, as a key kept in a DynamoDB table would be read.
    DynamoDb,
}

/// Which keys a process reads from Secrets Manager, and so which secrets' ARNs it is given, as
/// template.yaml configures it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum KeyHolder {
    /// A function that signs (`auth`, `refresh`): `JWT_PRIVATE_KEY_ARN` and `SERVER_SECRET_ARN`.
    Signer,
    /// A function that verifies (the authorizer): `JWT_PUBLIC_KEYS_ARN`.
    Verifier,
}

/// One version of the keys: the private key as PEM, its public half as a JWK.
struct KeyVersion {
    pem: String,
    jwk: String,
    created: u64,
}

impl KeyVersion {
    fn new(pem: String, created: u64) -> Result<Self, Error> {
        let jwk = serde_json::to_string(&PrivateKey::from_pem(&pem)?.public().to_jwk())?;
        Ok(Self { pem, jwk, created })
    }
}

/// The two versions of the keys the stand-in serves, as after a rotation, and the server secret.
struct KeyVersions {
    service: KeyService,
    holder: KeyHolder,
    current: KeyVersion,
    previous: KeyVersion,
    server: String,
}

impl KeyVersions {
    /// `$JWT_PRIVATE_KEY` (which signed the events) as current, `$JWT_PREVIOUS_PRIVATE_KEY` or a
    /// test-only key as previous, and `$SERVER_SECRET` or a bench-only one.
    fn from_env(service: KeyService, holder: KeyHolder) -> Result<Self, Error> {
        let current = std::env::var(JWT_PRIVATE_KEY).map_err(|_| format!("{JWT_PRIVATE_KEY} is unset"))?;
        let previous = std::env::var(JWT_PREVIOUS_PRIVATE_KEY).unwrap_or_else(|_| PREVIOUS_KEY.to_owned());
        Ok(Self {
            service,
            holder,
            current: KeyVersion::new(current, CURRENT_CREATED)?,
            previous: KeyVersion::new(previous, PREVIOUS_CREATED)?,
            server: std::env::var(SERVER_SECRET).unwrap_or_else(|_| BENCH_SERVER_SECRET.to_owned()),
        })
    }

    /// The variables a process is given, as deployed.
    fn variables(&self) -> &'static [(&'static str, &'static str)] {
        match self.holder {
            KeyHolder::Signer => {
                &[(JWT_PRIVATE_KEY_ARN, BENCH_PRIVATE_KEY_ARN), (SERVER_SECRET_ARN, BENCH_SERVER_SECRET_ARN)]
            }
            KeyHolder::Verifier => &[(JWT_PUBLIC_KEYS_ARN, BENCH_PUBLIC_KEYS_ARN)],
        }
    }

    /// A secret's value at `stage`, as Secrets Manager lists it: ARN, name, value and creation.
    fn secret(&self, arn: &str, stage: &str) -> Option<serde_json::Value> {
        let version = if stage == "AWSPREVIOUS" { &self.previous } else { &self.current };
        let (name, value, created) = match arn {
            BENCH_PRIVATE_KEY_ARN => ("bench-private-key", &version.pem, version.created),
            BENCH_PUBLIC_KEYS_ARN => ("bench-public-keys", &version.jwk, version.created),
            BENCH_SERVER_SECRET_ARN if stage == "AWSCURRENT" => {
                ("bench-server", &self.server, PREVIOUS_CREATED)
            }
            _ => return None,
        };
        Some(json!({
            "ARN": arn, "Name": name, "VersionId": format!("{name}-{stage}-version"),
            "SecretString": value, "VersionStages": [stage], "CreatedDate": created,
        }))
    }

    /// A `BatchGetSecretValue` answer: the current version of each secret asked for.
    fn batch_value(&self, request: &[u8]) -> Response<Full<Bytes>> {
        let request = serde_json::from_slice::<serde_json::Value>(request).unwrap_or_default();
        let ids = request["SecretIdList"].as_array().cloned().unwrap_or_default();
        let (mut values, mut errors) = (vec![], vec![]);
        for id in ids.iter().filter_map(|id| id.as_str()) {
            match self.secret(id, "AWSCURRENT") {
                Some(value) => values.push(value),
                None => errors.push(json!({
                    "SecretId": id, "ErrorCode": "ResourceNotFoundException", "Message": "not served by the bench",
                })),
            }
        }
        json_response(json!({"SecretValues": values, "Errors": errors}), "application/x-amz-json-1.1")
    }

    /// A `GetItem` answer: the current public key as an item.
    fn item(&self) -> Response<Full<Bytes>> {
        let body = json!({"Item": {"pk": {"S": "current"}, "key": {"S": self.current.jwk}}});
        json_response(body, "application/x-amz-json-1.0")
    }

    /// A `GetSecretValue` answer for the secret and the stage the request names.
    fn secret_value(&self, request: &[u8]) -> Response<Full<Bytes>> {
        let request = serde_json::from_slice::<serde_json::Value>(request).unwrap_or_default();
        let stage = request["VersionStage"].as_str().unwrap_or("AWSCURRENT");
        match self.secret(request["SecretId"].as_str().unwrap_or_default(), stage) {
            Some(body) => json_response(body, "application/x-amz-json-1.1"),
            None => not_served(),
        }
    }
}

/// A 200 answer with `body` of `content_type`.
fn json_response(body: serde_json::Value, content_type: &str) -> Response<Full<Bytes>> {
    Response::builder().header("content-type", content_type).body(Full::from(body.to_string())).unwrap()
}

/// The stand-in's answer to an AWS call it does not serve: an error the SDK does not retry, so
/// `rotate-key`'s first answer comes after one request instead of three with backoff.
fn not_served() -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::from(r#"{"__type":"ResourceNotFoundException","Message":"not served by the bench"}"#))
        .unwrap()
}

/// The emulator's side of one process: the events to hand out and what came back.
struct Emulator {
    events: Arc<Vec<Bytes>>,
    keys: Option<Arc<KeyVersions>>,
    invocations: usize,
    started: Instant,
    state: Mutex<State>,
    done: Notify,
}

#[derive(Default)]
struct State {
    served: usize,
    first_next: Option<Duration>,
    responses: Vec<Duration>,
    first_response: Option<Bytes>,
    failure: Option<String>,
}

impl Emulator {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
        let path = request.uri().path().to_owned();
        if request.method() == Method::GET && path.ends_with("/invocation/next") {
            return Ok(self.next().await);
        }
        let target = request.headers().get("x-amz-target").and_then(|t| t.to_str().ok()).map(str::to_owned);
        let body = request.into_body().collect().await?.to_bytes();
        if let Some(answer) = target.and_then(|target| self.stand_in(&target, &body)) {
            return Ok(answer);
        }
        let at = self.started.elapsed();
        let mut state = self.state.lock().unwrap();
        if path.ends_with("/response") || path.ends_with("/error") && path.contains("/invocation/") {
            // A function error is an answer too (rotate-key's, refused by the stand-in).
            state.first_response.get_or_insert(body);
            state.responses.push(at);
            if state.responses.len() == self.invocations {
                self.done.notify_one();
            }
        } else {
            state.failure = Some(format!("{path}: {}", String::from_utf8_lossy(&body)));
            self.done.notify_one();
        }
        Ok(Response::builder().status(StatusCode::ACCEPTED).body(Full::from(r#"{"status":"OK"}"#)).unwrap())
    }

    /// The answer to an AWS call (named by its `x-amz-target`) the emulator stands in for, if
    /// it is one. DynamoDB's reach it only with `--key-from-dynamodb`.
    fn stand_in(&self, target: &str, body: &[u8]) -> Option<Response<Full<Bytes>>> {
        let keys = self.keys.as_deref();
        let serves = |service, call: &str| keys.filter(|k| k.service == service && target == call);
        if target.starts_with("secretsmanager.") {
            let answer = match serves(KeyService::SecretsManager, target) {
                Some(keys) if target == GET_SECRET_VALUE => keys.secret_value(body),
                Some(keys) if target == BATCH_GET_SECRET_VALUE => keys.batch_value(body),
                _ => not_served(),
            };
            return Some(answer);
        }
        if target.starts_with("DynamoDB_20120810.") {
            return Some(serves(KeyService::DynamoDb, GET_ITEM).map_or_else(not_served, KeyVersions::item));
        }
        None
    }

    /// The next event; once all are handed out (none, for a start timed to its first `/next`),
    /// the run is over and the `/next` never answers, as in a frozen sandbox.
    async fn next(&self) -> Response<Full<Bytes>> {
        let served = {
            let mut state = self.state.lock().unwrap();
            state.first_next.get_or_insert(self.started.elapsed());
            state.served += 1;
            state.served
        };
        if served > self.invocations {
            self.done.notify_one();
            std::future::pending::<()>().await;
        }
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
        Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", format!("bench-{served}"))
            .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
            .body(Full::new(self.events[(served - 1) % self.events.len()].clone()))
            .unwrap()
    }
}

/// Starts `command` against a fresh emulator, feeds it `invocations` events (0: stops it at its
/// first `/next`) and kills it. `padding` bytes more of environment move where the process's
/// stack starts.
async fn run_process(
    command: &[String],
    function: &str,
    events: &Arc<Vec<Bytes>>,
    keys: Option<&Arc<KeyVersions>>,
    invocations: usize,
    padding: usize,
    log: &Path,
) -> Result<ProcessRun, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let emulator = Arc::new(Emulator {
        events: events.clone(),
        keys: keys.cloned(),
        invocations,
        started: Instant::now(),
        state: Mutex::default(),
        done: Notify::new(),
    });
    let server = tokio::spawn({
        let emulator = emulator.clone();
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                let emulator = emulator.clone();
                tokio::spawn(async move {
                    let service = service_fn(|request| {
                        let emulator = emulator.clone();
                        async move { emulator.handle(request).await }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        }
    });
    let mut child = std::process::Command::new(&command[0]);
    child.env("AWS_ENDPOINT_URL_SECRETS_MANAGER", format!("http://{address}"));
    if let Some(keys) = keys {
        child.env_remove(JWT_PRIVATE_KEY).env_remove(JWT_PREVIOUS_PRIVATE_KEY).env_remove(SERVER_SECRET);
        match keys.service {
            KeyService::SecretsManager => child.envs(keys.variables().iter().copied()),
            KeyService::DynamoDb => child.env("AWS_ENDPOINT_URL_DYNAMODB", format!("http://{address}")),
        };
    }
    let child = child
        .args(&command[1..])
        .env("BENCH_PADDING", "x".repeat(padding))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let deadline = tokio::time::Instant::now() + PROCESS_TIMEOUT;
    let early_exit = loop {
        tokio::select! {
            () = emulator.done.notified() => break None,
            () = tokio::time::sleep(Duration::from_millis(2)) => {
                if let Some(usage) = reap(pid, libc::WNOHANG) {
                    break Some(usage);
                }
                if tokio::time::Instant::now() > deadline {
                    break None;
                }
            }
        }
    };
    let peak_rss = peak_rss_kib(pid);
    let usage = match early_exit {
        Some(usage) => usage,
        None => {
            // SAFETY: `pid` is our child and has not been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid, 0).ok_or("wait4 failed")?
        }
    };
    server.abort();
    let state = std::mem::take(&mut *emulator.state.lock().unwrap());
    if let Some(failure) = state.failure {
        return Err(format!("{function} reported an error: {failure} (log: {})", log.display()).into());
    }
    let ended = if early_exit.is_some() { "exited" } else { "timed out" };
    if state.first_next.is_none() {
        return Err(format!("{function} {ended} before its first /next (log: {})", log.display()).into());
    }
    if state.responses.len() < invocations {
        return Err(format!(
            "{function}: {} of {invocations} responses before it {ended} (log: {})",
            state.responses.len(),
            log.display()
        )
        .into());
    }
    let first_response = state.first_response.unwrap_or_default();
    Ok(ProcessRun {
        init: state.first_next.unwrap_or_default(),
        responses: state.responses,
        cpu_us: rusage_cpu_micros(&usage),
        max_rss_kib: peak_rss.unwrap_or_else(|| max_rss_kib(&usage)),
        first_response: String::from_utf8_lossy(&first_response[..first_response.len().min(300)]).into(),
    })
}

/// `wait4` on our child: its resource usage once it has exited.
fn reap(pid: libc::pid_t, options: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: wait4 only writes the status and the struct it is given.
    unsafe {
        let mut status = 0;
        let mut usage = std::mem::zeroed::<libc::rusage>();
        (libc::wait4(pid, &mut status, options, &mut usage) == pid).then_some(usage)
    }
}

/// The process's own peak RSS (`VmHWM`) on Linux. `ru_maxrss` is the fallback elsewhere; on
/// Linux it can include the harness's memory the child shared before `exec`.
fn peak_rss_kib(pid: libc::pid_t) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn max_rss_kib(usage: &libc::rusage) -> f64 {
    let raw = usage.ru_maxrss as f64;
    if cfg!(target_os = "macos") { raw / 1024.0 } else { raw }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// What `bench runtime` runs, and how often.
#[derive(clap::Args)]
pub struct Options {
    /// The result's id, and the function name its processes are given.
    #[arg(long)]
    id: String,
    /// The row's title in BENCHMARKS.md.
    #[arg(long)]
    name: String,
    #[arg(long, value_parser = ["floor", "function", "variant", "peer"])]
    kind: String,
    /// One event as JSON, or one per line in a `.jsonl` file, sent in turn.
    #[arg(long)]
    event: PathBuf,
    /// Fresh processes timed to their first `/next`, and as many more to their first response.
    #[arg(long, default_value_t = 30)]
    cold: usize,
    /// Invocations in one warm process; 0 for none.
    #[arg(long, default_value_t = 0)]
    warm: usize,
    /// Warm processes, of which the median counts.
    #[arg(long, default_value_t = 3)]
    warm_runs: usize,
    /// A floor binary whose starts alternate with the command's, timed to the first `/next`.
    #[arg(long)]
    floor: Option<String>,
    /// Give the command the key secrets' ARNs a signer or a verifier is deployed with, and answer
    /// its reads of them: `$JWT_PRIVATE_KEY` (current, as PEM or as JWK) and a previous key, and
    /// the server secret.
    #[arg(long, value_enum, conflicts_with = "key_from_dynamodb")]
    keys_from_secrets_manager: Option<KeyHolder>,
    /// Stand in for DynamoDB too, and answer the command's `GetItem` with the public half of
    /// `$JWT_PRIVATE_KEY`, as a JWK, as an item.
    #[arg(long)]
    key_from_dynamodb: bool,
    /// Where the results go as JSON; the processes' output goes beside it, as `.log`.
    #[arg(long)]
    out: PathBuf,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// `bench runtime`: cold and warm runs of one command.
pub async fn run(options: &Options) -> Result<(), Error> {
    let Options { id, out, command, .. } = options;
    let log = out.with_extension("log");
    let text = std::fs::read_to_string(&options.event)?;
    let events: Vec<Bytes> = if options.event.extension().is_some_and(|e| e == "jsonl") {
        text.lines().map(|l| Bytes::from(l.to_owned())).collect()
    } else {
        vec![Bytes::from(serde_json::from_str::<serde_json::Value>(&text)?.to_string())]
    };
    let events = Arc::new(events);
    let keys = match (options.keys_from_secrets_manager, options.key_from_dynamodb) {
        (Some(holder), _) => Some(KeyVersions::from_env(KeyService::SecretsManager, holder)?),
        (None, true) => Some(KeyVersions::from_env(KeyService::DynamoDb, KeyHolder::Verifier)?),
        (None, false) => None,
    };
    let keys = keys.map(Arc::new);

    let floor = options.floor.as_ref();
    let (mut init_ms, mut floor_init_ms) = (vec![], vec![]);
    for i in 0..options.cold {
        if let Some(floor) = floor.filter(|_| i % COLD_BLOCK == 0) {
            for _ in 0..COLD_BLOCK {
                let run =
                    run_process(std::slice::from_ref(floor), "floor", &events, None, 0, 0, &log).await?;
                floor_init_ms.push(millis(run.init));
            }
        }
        init_ms.push(millis(run_process(command, id, &events, keys.as_ref(), 0, 0, &log).await?.init));
    }
    let (mut serving_init_ms, mut first_response_ms, mut cpu_ms, mut max_rss) =
        (vec![], vec![], vec![], vec![]);
    let mut first_response = String::new();
    for _ in 0..options.cold {
        let run = run_process(command, id, &events, keys.as_ref(), 1, 0, &log).await?;
        serving_init_ms.push(millis(run.init));
        first_response_ms.push(millis(run.responses[0]));
        cpu_ms.push(run.cpu_us / 1e3);
        max_rss.push(run.max_rss_kib);
        first_response = run.first_response;
    }
    let invocations = options.warm;
    let warm = if invocations == 0 {
        serde_json::Value::Null
    } else {
        // Whole-process CPU minus a typical cold run (init and one invocation), per invocation;
        // the median over several processes, as one run on a shared machine is noisy. Each
        // process's environment is [`WARM_PADDING_STEP`] bytes longer than the last one's, so
        // they sample where the stack lands, which moves a warm invocation's CPU by up to a third
        // here (bench/ANALYSIS.md, measure 3b), the same places for every command.
        let cold_cpu_us = median(&cpu_ms) * 1e3;
        let (mut cpu_us_runs, mut wall_us, mut peak_rss) = (vec![], vec![], 0f64);
        for run in 0..options.warm_runs {
            let padding = run * WARM_PADDING_STEP;
            let run = run_process(command, id, &events, keys.as_ref(), invocations, padding, &log).await?;
            let settled = run.responses.iter().skip(WARM_SETTLE.min(invocations / 10));
            wall_us.extend(settled.clone().zip(settled.skip(1)).map(|(a, b)| (*b - *a).as_secs_f64() * 1e6));
            let counted = invocations - usize::from(cold_cpu_us > 0.0);
            cpu_us_runs.push((run.cpu_us - cold_cpu_us) / counted as f64);
            peak_rss = peak_rss.max(run.max_rss_kib);
            first_response = run.first_response;
        }
        json!({
            "invocations": invocations, "cpu_us_per_invocation": median(&cpu_us_runs),
            "cpu_us_runs": cpu_us_runs, "wall_us": wall_us, "max_rss_kib": peak_rss,
        })
    };
    println!("{id}: init {:.1} ms, first response: {first_response}", median(&init_ms));
    write_json(
        out,
        &json!({
            "id": id, "name": options.name, "kind": options.kind,
            "keys_from_secrets_manager": options.keys_from_secrets_manager.is_some(),
            "cold": {
                "init_ms": init_ms, "floor_init_ms": floor_init_ms, "serving_init_ms": serving_init_ms,
                "first_response_ms": first_response_ms, "cpu_ms": cpu_ms, "max_rss_kib": max_rss,
            },
            "warm": warm, "first_response": first_response,
        }),
    )
}
