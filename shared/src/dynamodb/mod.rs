//! The DynamoDB adapter: the domain's store traits on real tables, and the table definitions
//! `template.yaml` deploys.

mod attempts;
mod erasure;
mod refresh;
mod schema;
mod table;
mod users;
mod work;

pub use attempts::LoginAttemptTable;
pub use erasure::AccountTables;
pub use refresh::RefreshTokenTable;
pub use schema::{
    IndexSpec, LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, SESSIONS_BY_USER, TableSpec, USERS_TABLE,
    WORK_ITEMS_TABLE, create_table_if_absent, delete_table,
};
pub use table::Table;
pub use users::UserTable;
pub use work::WorkItemTable;
