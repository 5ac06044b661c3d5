//! `backends BIN_DIR [--samples S] [--cold N]`: the RSA back ends side by side, printed as
//! Markdown for BENCHMARKS.md ("RSA back ends"). BIN_DIR holds the minimal binaries run.sh built
//! (`verify-none`, `verify-ring`, `verify-aws-lc-rs`, `verify-rsa`, `verify-rsa-0_10`); the
//! fixture they read is written there. `backends --verify-only` prints the verify columns alone.
//!
//! - Verify: one RS256 check of the same message and signature with each back end, in S samples
//!   each, taken in turn (so drift in a shared machine's speed falls on all alike); a sample is a
//!   batch of about a millisecond of checks ÷ its size. Twice where the back end allows it: the
//!   key built from `n` and `e` at every check, as the service does with ring, and built once.
//! - Size: each minimal binary's bytes, as built (stripped, with the workspace's release profile).
//! - Cold start: wall time from spawning a minimal binary to its exit, having read the fixture,
//!   built the key and checked the signature once; N runs each, in turn, after three untimed
//!   rounds that bring the binaries into the page cache.

use std::{
    hint::black_box,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    digest,
    rand::SystemRandom,
    signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents},
};
use rsa_backends::{Fixture, with_aws_lc_rs, with_ring, with_rsa, with_rsa_0_10};

type Error = Box<dyn std::error::Error>;

/// The test-only key of the service's tests (2048 bits), never used outside tests and benchmarks.
const PEM: &str = include_str!("../../../shared/tests/fixtures/test-only-rsa-1.pem");
/// The versions linked, read from this project's own lock file.
const LOCK: &str = include_str!("../Cargo.lock");
/// How long one timed batch of checks lasts, about.
const BATCH: Duration = Duration::from_millis(1);
const WARM_UP_ROUNDS: usize = 3;

/// One way of checking the fixture's signature.
struct Variant {
    backend: &'static str,
    /// Whether the key is built once, rather than from `n` and `e` at every check.
    built_once: bool,
    check: Box<dyn Fn(&Fixture) -> bool>,
    /// Checks per timed batch.
    batch: u32,
    ns: Vec<f64>,
}

impl Variant {
    fn new(backend: &'static str, built_once: bool, check: impl Fn(&Fixture) -> bool + 'static) -> Self {
        Self { backend, built_once, check: Box::new(check), batch: 1, ns: vec![] }
    }

    /// Nanoseconds per check over one batch.
    fn sample(&self, fixture: &Fixture) -> f64 {
        let started = Instant::now();
        for _ in 0..self.batch {
            assert!(black_box((self.check)(black_box(fixture))), "{}: the signature holds", self.backend);
        }
        started.elapsed().as_nanos() as f64 / f64::from(self.batch)
    }

    /// Sizes the batch to last about [`BATCH`], after checking that a bad signature fails.
    fn calibrate(&mut self, fixture: &Fixture) {
        let mut forged = fixture.clone();
        forged.signature[0] ^= 1;
        assert!(!(self.check)(&forged), "{}: a forged signature fails", self.backend);
        let (started, mut checks) = (Instant::now(), 0u32);
        while started.elapsed() < 20 * BATCH {
            assert!((self.check)(black_box(fixture)), "{}: the signature holds", self.backend);
            checks += 1;
        }
        let per_check = started.elapsed() / checks;
        self.batch = (BATCH.as_nanos() / per_check.as_nanos().max(1)).max(1) as u32;
    }
}

/// The back ends compared, by feature name, each with its minimal binary `verify-NAME`; `none`
/// is the floor.
const BACKENDS: [&str; 5] = ["none", "ring", "aws-lc-rs", "rsa", "rsa-0_10"];
const USAGE: &str = "usage: backends BIN_DIR [--samples S] [--cold N] | backends --verify-only [--samples S]";

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (mut bin_dir, mut samples, mut cold, mut verify_only) = (None, 500, 300, false);
    while let Some(arg) = args.next() {
        let mut number = || -> Result<usize, Error> { Ok(args.next().ok_or(USAGE)?.parse()?) };
        match arg.as_str() {
            "--samples" => samples = number()?,
            "--cold" => cold = number()?,
            "--verify-only" => verify_only = true,
            _ if bin_dir.is_none() && !arg.starts_with('-') => bin_dir = Some(PathBuf::from(arg)),
            _ => return Err(USAGE.into()),
        }
    }
    let fixture = fixture()?;
    let variants = time_verify(&fixture, samples)?;
    if verify_only {
        print_verify_only(&variants, &fixture, samples);
        return Ok(());
    }
    let bin_dir = bin_dir.ok_or(USAGE)?;
    let fixture_path = bin_dir.join("fixture.hex");
    std::fs::write(&fixture_path, fixture.to_text())?;
    let binaries = BACKENDS.map(|b| bin_dir.join(format!("verify-{b}")));
    let bytes = BACKENDS
        .iter()
        .zip(&binaries)
        .map(|(b, path)| Ok(std::fs::metadata(path).map_err(|e| format!("verify-{b}: {e}"))?.len()))
        .collect::<Result<Vec<u64>, Error>>()?;
    let cold_us = time_cold_starts(&binaries, &fixture_path, cold)?;

    let ring_us = median(&variants[0].ns) / 1e3;
    let (floor_bytes, floor_cold) = (bytes[0], median(&cold_us[0]));
    println!(
        "| Back end | verify µs, key from n, e median | p90 | ÷ ring | verify µs, key built once median \
         | p90 | ÷ ring | binary bytes | over the floor | cold start µs median | p90 | over the floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, backend) in BACKENDS.iter().enumerate() {
        let floor = i == 0;
        let mut row = vec![if floor {
            "none: the floor (reads the fixture, checks nothing)".into()
        } else {
            name(backend)
        }];
        row.extend(verify_cells(&variants, backend, ring_us));
        row.extend([
            thousands(bytes[i]),
            if floor { String::new() } else { thousands(bytes[i].saturating_sub(floor_bytes)) },
            fmt(Some(median(&cold_us[i])), 0),
            fmt(Some(p90(&cold_us[i])), 0),
            if floor { String::new() } else { fmt(Some(median(&cold_us[i]) - floor_cold), 0) },
        ]);
        println!("| {} |", row.join(" | "));
    }
    println!();
    println!(
        "{} Binary bytes: each minimal binary as built, stripped. Cold start: wall time from spawning \
         it to its exit, having read the fixture, built the key from `n` and `e` and checked the \
         signature once; {cold} spawns of each, in turn, after {WARM_UP_ROUNDS} untimed rounds. ring has no RSA \
         public key that is built once and checks many times: ours, like its verify, builds it from `n` \
         and `e` at every check.",
        verify_method(&variants, &fixture, samples)
    );
    Ok(())
}

/// Times each back end's check in turn, `samples` batches each, after checking that it accepts
/// the fixture and refuses a forged signature.
fn time_verify(fixture: &Fixture, samples: usize) -> Result<Vec<Variant>, Error> {
    let aws_lc = with_aws_lc_rs::Parsed::new(fixture).ok_or("aws-lc-rs refused the key")?;
    let rsa = with_rsa::Parsed::new(fixture).ok_or("rsa 0.9 refused the key")?;
    let rsa_0_10 = with_rsa_0_10::Parsed::new(fixture).ok_or("rsa 0.10 refused the key")?;
    let mut variants = vec![
        Variant::new("ring", false, with_ring::verify),
        Variant::new("aws-lc-rs", false, with_aws_lc_rs::verify),
        Variant::new("rsa", false, with_rsa::verify),
        Variant::new("rsa-0_10", false, with_rsa_0_10::verify),
        Variant::new("aws-lc-rs", true, move |f| aws_lc.verify(f)),
        Variant::new("rsa", true, move |f| rsa.verify(f)),
        Variant::new("rsa-0_10", true, move |f| rsa_0_10.verify(f)),
    ];
    variants.iter_mut().for_each(|v| v.calibrate(fixture));
    for _ in 0..samples {
        for variant in &mut variants {
            let ns = variant.sample(fixture);
            variant.ns.push(ns);
        }
    }
    Ok(variants)
}

/// Wall times in µs of spawning each binary on the fixture, `runs` each, in turn.
fn time_cold_starts(binaries: &[PathBuf], fixture: &Path, runs: usize) -> Result<Vec<Vec<f64>>, Error> {
    let mut times = vec![vec![]; binaries.len()];
    for round in 0..WARM_UP_ROUNDS + runs {
        for (binary, times) in binaries.iter().zip(&mut times) {
            let took = spawn(binary, fixture).map_err(|e| format!("{}: {e}", binary.display()))?;
            if round >= WARM_UP_ROUNDS {
                times.push(took.as_secs_f64() * 1e6);
            }
        }
    }
    Ok(times)
}

/// The verify columns of one back end: from `n` and `e`, then built once (median, p90, ÷ ring).
fn verify_cells(variants: &[Variant], backend: &str, ring_us: f64) -> Vec<String> {
    [false, true]
        .into_iter()
        .flat_map(|built_once| {
            let us = variants
                .iter()
                .find(|v| v.backend == backend && v.built_once == built_once)
                .map(|v| (median(&v.ns) / 1e3, p90(&v.ns) / 1e3));
            [fmt(us.map(|u| u.0), 1), fmt(us.map(|u| u.1), 1), ratio(us.map(|u| u.0), ring_us)]
        })
        .collect()
}

/// The verify table alone, for a second build of the harness at another opt-level.
fn print_verify_only(variants: &[Variant], fixture: &Fixture, samples: usize) {
    let ring_us = median(&variants[0].ns) / 1e3;
    println!(
        "| Back end | verify µs, key from n, e median | p90 | ÷ ring | verify µs, key built once median | p90 | ÷ ring |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for backend in &BACKENDS[1..] {
        let mut row = vec![name(backend)];
        row.extend(verify_cells(variants, backend, ring_us));
        println!("| {} |", row.join(" | "));
    }
    println!();
    println!("{}", verify_method(variants, fixture, samples));
}

/// How the checks were timed, for the note under a table.
fn verify_method(variants: &[Variant], fixture: &Fixture, samples: usize) -> String {
    let batches = variants.iter().map(|v| {
        format!("{}{} {}", name(v.backend), if v.built_once { " (key built once)" } else { "" }, v.batch)
    });
    format!(
        "Verify: RSA-2048 PKCS#1 v1.5 SHA-256 check of one {}-byte signing input (an access token's) and \
         its signature, {samples} samples of each way, taken in turn; a sample is a batch of about {} ms \
         of checks ÷ its size ({}).",
        fixture.message.len(),
        BATCH.as_millis(),
        batches.collect::<Vec<_>>().join(", "),
    )
}

/// A back end as the tables name it: its crate and the version locked.
fn name(backend: &str) -> String {
    let (package, major) = match backend {
        "rsa" => ("rsa", "0.9."),
        "rsa-0_10" => ("rsa", "0.10."),
        other => (other, ""),
    };
    let version = locked_versions(package).find(|v| v.starts_with(major)).unwrap_or("?");
    format!("{package} {version}")
}

/// The signing input of an access token like ours (header and claims as the service writes
/// them, for the test-only key) and its RS256 signature, with the key's `n` and `e`.
fn fixture() -> Result<Fixture, Error> {
    let body: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    let pair = RsaKeyPair::from_pkcs8(&STANDARD.decode(body)?).map_err(|e| format!("the test key: {e}"))?;
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    let (n, e) = (URL_SAFE_NO_PAD.encode(&public.n), URL_SAFE_NO_PAD.encode(&public.e));
    let thumbprint = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, thumbprint.as_bytes()));
    let header = format!(r#"{{"typ":"at+jwt","alg":"RS256","kid":"{kid}"}}"#);
    let claims = r#"{"iss":"jwt-auth","aud":"jwt-auth-api","sub":"01JDQ8ZQ3T5W9X2Y4Z6A8B0C1D","client_id":"jwt-auth","username":"joe.bloggs","ver":3,"sid":"01JDQ8ZS5W7X9Y1Z3A5B7C9D1E","iat":1800000000,"nbf":1800000000,"exp":1800000900,"jti":"01JDQ8ZT7X9Y1Z3A5B7C9D1E3F"}"#;
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message.as_bytes(), &mut signature)
        .map_err(|_| "ring could not sign")?;
    Ok(Fixture { n: public.n, e: public.e, message: message.into_bytes(), signature })
}

/// Wall time from spawning `binary` on the fixture to its exit, which must be a success.
fn spawn(binary: &Path, fixture: &Path) -> Result<Duration, Error> {
    let started = Instant::now();
    let status = Command::new(binary)
        .arg(fixture)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let took = started.elapsed();
    if !status.success() {
        return Err(format!("exited with {status}").into());
    }
    Ok(took)
}

/// The versions of `package` in this project's Cargo.lock.
fn locked_versions(package: &str) -> impl Iterator<Item = &'static str> {
    let name = format!("name = \"{package}\"\n");
    LOCK.split("[[package]]")
        .filter(move |entry| entry.contains(&name))
        .filter_map(|entry| entry.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"')))
}

/// Quantile by linear interpolation between closest ranks, as bench/report.py computes it.
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    let pos = (xs.len() - 1) as f64 * q;
    let (lo, hi) = (pos.floor() as usize, (pos.floor() as usize + 1).min(xs.len() - 1));
    xs[lo] + (xs[hi] - xs[lo]) * (pos - pos.floor())
}

fn median(xs: &[f64]) -> f64 {
    quantile(xs, 0.5)
}

fn p90(xs: &[f64]) -> f64 {
    quantile(xs, 0.9)
}

/// `x` to `digits` decimals with thousands separators, as BENCHMARKS.md writes numbers; `—` for none.
fn fmt(x: Option<f64>, digits: usize) -> String {
    let Some(x) = x else { return "—".to_owned() };
    let text = format!("{:.digits$}", x.abs());
    let (whole, decimals) = text.split_at(text.find('.').unwrap_or(text.len()));
    let sign = if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') { "-" } else { "" };
    format!("{sign}{}{decimals}", thousands(whole.parse().unwrap_or(0)))
}

fn ratio(x: Option<f64>, of: f64) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{:.2}×", x / of))
}

/// An integer with thousands separators.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
