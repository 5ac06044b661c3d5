//! Store, handler and schema tests against a real DynamoDB (DynamoDB Local, started by `make test`).

mod accounts;
mod handlers;
mod helpers;
mod store;
#[path = "../support/mod.rs"]
mod support;
mod template;
