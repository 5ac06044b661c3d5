//! A variant of measure 3: the authorizer with mimalloc as the global allocator instead of
//! glibc's malloc.

// As in functions/authorizer: its future is deeper than rustc's default query depth.
#![recursion_limit = "256"]

#[path = "variants/authorizer.rs"]
mod authorizer;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authorizer::serve().await
}
