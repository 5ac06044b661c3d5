//! A variant of measure 3: the authorizer on tokio's multi-thread runtime (a worker per core)
//! instead of the current-thread one.

// As in functions/authorizer: its future is deeper than rustc's default query depth.
#![recursion_limit = "256"]

#[path = "variants/authorizer.rs"]
mod authorizer;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authorizer::serve().await
}
