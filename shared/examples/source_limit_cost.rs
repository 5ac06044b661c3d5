//! What the per-source limit on `/auth` and `/refresh` costs per request: `Throttle::admit` for
//! one source timed on DynamoDB Local (one `UpdateItem` that adds one to the source's counter in
//! the login-attempts table), and the write request units that counter write consumes, as
//! DynamoDB reports them for the same `UpdateItem` sent with `ReturnConsumedCapacity::Total`.
//! The timed requests follow as many untimed ones: DynamoDB Local's JVM answers its first
//! thousands of requests up to twice as slowly as later ones.
//!
//! Run with DynamoDB Local up and `AWS_ENDPOINT_URL_DYNAMODB` set (as `make dev` does):
//! `cargo run --release -p auth-core --example source_limit_cost [OUT.json [ROUNDS]]`; `make bench`
//! runs it for BENCHMARKS.md, "Extra: the per-source limit on /auth and /refresh".

use std::time::{Duration, Instant};

use auth_core::{
    clock::unix_now,
    config::Config,
    dynamodb::{self, LOGIN_ATTEMPTS_TABLE, LoginAttemptTable},
    throttle::{self, Route, Source, SourceLimit, Throttle, Verdict, WINDOW_SECONDS},
    wiring,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};

/// Requests timed when the command line names no number.
const ROUNDS: usize = 2_000;

fn quantile(mut samples: Vec<Duration>, q: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

/// The write request units one counter write consumes: the `UpdateItem` of
/// `CountRequests::count_request`, sent again with `ReturnConsumedCapacity::Total`.
async fn write_units(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<f64, auth_core::BoxError> {
    let output = client
        .update_item()
        .table_name(table)
        .key(LOGIN_ATTEMPTS_TABLE.hash_key, AttributeValue::S(key.to_owned()))
        .update_expression("ADD hits :one SET expires_at = :expires")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(
            ":expires",
            AttributeValue::N((unix_now() + 2 * WINDOW_SECONDS).to_string()),
        )
        .return_values(ReturnValue::UpdatedNew)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    output
        .consumed_capacity
        .and_then(|c| c.capacity_units)
        .ok_or_else(|| "the UpdateItem came back without its consumed capacity".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_core::BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(ROUNDS);
    let client = wiring::aws(&Config::from_process()).dynamodb();
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let table = format!("source-limit-attempts-{suffix}");
    dynamodb::create_table_if_absent(&client, &table, &LOGIN_ATTEMPTS_TABLE).await?;
    // A limit no run reaches, so that every request is counted (0 would skip the write) and let
    // through, as `make bench` configures the functions.
    let throttle = Throttle {
        counters: LoginAttemptTable::new(client.clone(), &table),
        limit: SourceLimit { route: Route::Auth, per_minute: u32::MAX },
    };
    let source = Source::of("203.0.113.10").ok_or("not an address")?;

    for _ in 0..rounds {
        throttle.admit(&source, unix_now()).await?;
    }
    let mut admits = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let verdict = throttle.admit(&source, unix_now()).await?;
        admits.push(start.elapsed());
        assert_eq!(verdict, Verdict::Allowed);
    }
    // The first request of a window creates its counter; every later one updates it.
    let fresh = throttle::key(Route::Auth, &source, 0);
    let first = write_units(&client, &table, &fresh).await?;
    let later = write_units(&client, &table, &fresh).await?;
    dynamodb::delete_table(&client, &table).await?;
    if let Some(out) = args.first() {
        let micros = admits.iter().map(|d| d.as_secs_f64() * 1e6).collect::<Vec<_>>();
        let doc = serde_json::json!({
            "rounds": rounds, "warm_up": rounds, "admit_us": micros,
            "write_units": later, "write_units_first": first,
        });
        std::fs::write(out, doc.to_string())?;
    }
    println!("{rounds} requests from one source on DynamoDB Local, each counted and let through:");
    println!("  Throttle::admit, median: {:>9.1?}", quantile(admits.clone(), 0.5));
    println!("  Throttle::admit, p99:    {:>9.1?}", quantile(admits, 0.99));
    println!("  write request units a request: {later} ({first} for the first of a window)");
    Ok(())
}
