//! The Lambda handlers, generic over the domain capabilities they use.
//!
//! Each public handler never fails at the Lambda level with a request's fault: every error
//! becomes a JSON response in [`crate::error`].

mod account;
mod authorizer;
mod caller;
mod discovery;
mod limit;
mod password;
mod profile;
mod refresh;
mod rotate_key;
mod sessions;
mod work;

pub use account::{Credentials, auth, signup};
pub use authorizer::{AuthorizerHeaders, AuthorizerRequest, authorize, authorizer};
pub use caller::{Callers, IdentifyCaller};
pub use discovery::{DISCOVERY_PATH, Discovery, JWKS_PATH, well_known};
pub use password::{PasswordChange, change_password};
pub use profile::{AccountDeletion, EXPORT_WORK_ITEMS, delete_account, export_account};
pub use refresh::{Issuer, RefreshRequest, refresh};
pub use rotate_key::rotate_key;
pub use sessions::{LogoutRequest, end_sessions, list_sessions, logout};
pub use work::{NewWorkItem, create_work, list_work};

#[cfg(test)]
mod tests;
