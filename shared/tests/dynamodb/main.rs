//! Store, handler and schema tests against a real DynamoDB (DynamoDB Local, started by `make test`).

mod handlers;
mod helpers;
mod store;
mod template;
