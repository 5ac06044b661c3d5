//! Users: the username rules, the stored record, and the store capabilities handlers need.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::{passwords::PasswordHash, store::StoreError, validation::Invalid};

/// Shortest and longest username, in characters.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=64;

/// A username in canonical (lower-case) form: 3–64 ASCII letters, digits, `.`, `_`, `-`, `@`, `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Validates a username and folds it to lower case, so `Joe` and `joe` are one account.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if !USERNAME_CHARS.contains(&raw.chars().count()) {
            return Err(Invalid::new(format!(
                "Username must be {} to {} characters",
                USERNAME_CHARS.start(),
                USERNAME_CHARS.end()
            )));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
        if !raw.chars().all(allowed) {
            return Err(Invalid::new("Username may only contain letters, digits and . _ - @ +"));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as stored: one item per canonical username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: Username,
    /// Stable id (a ULID), the `sub` of the user's tokens and the key of their work items.
    pub user_id: String,
    pub password_hash: PasswordHash,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Bumped by "log out everywhere": tokens and refresh families of older versions stop working.
    #[serde(default)]
    pub token_version: u64,
    /// Set by an operator to block the account: no new tokens, existing ones refused.
    #[serde(default)]
    pub disabled: bool,
    /// Set by an operator (`jwt-auth-admin roles`); none is stored as no attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

impl User {
    /// The user as an operator sees them: all but the password hash.
    pub fn profile(&self) -> Profile {
        Profile {
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at.clone(),
            token_version: self.token_version,
            disabled: self.disabled,
            roles: self.roles.clone(),
        }
    }

    /// The user as the checks that never see a password know it.
    pub fn account(&self) -> Account {
        Account {
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at.clone(),
            token_version: self.token_version,
            disabled: self.disabled,
            roles: self.roles.clone(),
        }
    }
}

/// A user as every check that never compares a password reads it: the stored record without
/// its hash, which such reads project away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub username: Username,
    pub user_id: String,
    pub created_at: String,
    #[serde(default)]
    pub token_version: u64,
    #[serde(default)]
    pub disabled: bool,
    /// What the user's access tokens grant, as their `scope`.
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl Account {
    /// The attributes an account read asks for: all of a user but the password hash.
    pub const ATTRIBUTES: [&str; 6] = Profile::ATTRIBUTES;

    /// The user's roles as an access token's `scope`: space-separated, empty for none.
    pub fn scope(&self) -> String {
        self.roles.iter().map(Role::as_str).collect::<Vec<_>>().join(" ")
    }
}

/// A role an operator gives a user: 1 to 64 lower-case ASCII letters, digits, `_`, `-`, `.`
/// or `:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Role(String);

/// The length a role name may have.
pub const ROLE_CHARS: std::ops::RangeInclusive<usize> = 1..=64;

impl Role {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.:".contains(c);
        if ROLE_CHARS.contains(&raw.len()) && raw.chars().all(allowed) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "Role {raw:?} must be {} to {} lower-case letters, digits, '_', '-', '.' or ':'",
                ROLE_CHARS.start(),
                ROLE_CHARS.end()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as an operator sees one: everything stored but the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub username: Username,
    pub user_id: String,
    pub created_at: String,
    #[serde(default)]
    pub token_version: u64,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl Profile {
    /// The attributes a profile read asks for.
    pub const ATTRIBUTES: [&str; 6] =
        ["username", "user_id", "created_at", "token_version", "disabled", "roles"];

    /// The account this profile is of.
    pub fn account(&self) -> Account {
        Account {
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at.clone(),
            token_version: self.token_version,
            disabled: self.disabled,
            roles: self.roles.clone(),
        }
    }
}

/// One page of users, in the table's order, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<Profile>,
    /// The last name of this page, to pass as `after` for the next; `None` on the last page.
    pub next: Option<Username>,
}

/// Lists every user, a page at a time (for operators: a scan of the whole table).
pub trait ListUsers {
    /// Up to `limit` users after the name `after` (from the start without one).
    fn list_users(
        &self,
        limit: u32,
        after: Option<&Username>,
    ) -> impl Future<Output = Result<UserPage, StoreError>> + Send;

    /// Up to `limit` whole users, password hashes included, after `after`, and where the next
    /// page starts: for an export that keeps the hashes.
    fn user_records(
        &self,
        limit: u32,
        after: Option<&Username>,
    ) -> impl Future<Output = Result<(Vec<User>, Option<Username>), StoreError>> + Send;
}

/// An operator's changes to an account. Each returns the profile as it is after the change, or
/// `None` if no user has the name (then nothing was written).
pub trait ManageUsers {
    /// Reads a user's profile (never the password hash).
    fn find_profile(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Profile>, StoreError>> + Send;

    /// Blocks (`true`) or unblocks the account. Blocking also moves the token version on, so
    /// every session and access token ends for good and unblocking revives none of them.
    fn set_disabled(
        &self,
        username: &Username,
        disabled: bool,
    ) -> impl Future<Output = Result<Option<Profile>, StoreError>> + Send;

    /// Replaces the user's roles (none removes them all).
    fn set_roles(
        &self,
        username: &Username,
        roles: &[Role],
    ) -> impl Future<Output = Result<Option<Profile>, StoreError>> + Send;
}

/// What claiming a username for a new user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// The user is stored.
    Created,
    /// Another user has the name; nothing was written.
    NameTaken,
}

/// Stores a new user, unless the username is taken: of concurrent sign-ups for one name, exactly
/// one is [`Creation::Created`].
pub trait CreateUser {
    fn create_user(&self, user: &User) -> impl Future<Output = Result<Creation, StoreError>> + Send;
}

/// Looks a user up by canonical username, password hash and all: only a login needs this.
pub trait FindUser {
    fn find_user(&self, username: &Username)
    -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

impl<T: FindUser + Sync> FindUser for &T {
    fn find_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        (**self).find_user(username)
    }
}

/// Looks an account up by canonical username, without its password hash.
pub trait FindAccount {
    fn find_account(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
}

impl<T: FindAccount + Sync> FindAccount for &T {
    fn find_account(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send {
        (**self).find_account(username)
    }
}

/// Revokes every token of a user at once ("log out everywhere").
pub trait RevokeUserTokens {
    /// Bumps the user's token version; a no-op if `user_id` no longer owns `username`.
    fn revoke_all_tokens(
        &self,
        username: &Username,
        user_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a new password hash does to the user's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// Nothing: the same password, hashed anew.
    Keep,
    /// End every one: the token version moves on, so every session and access token of the user
    /// stops working.
    End,
}

/// Replaces a user's password hash, as long as nothing changed it since the user was read.
pub trait SetPasswordHash {
    /// Stores `new` for `user` if the account still has `user.user_id` and `user.password_hash`;
    /// returns the user's token version after the write, or `None` if the account changed
    /// meanwhile (nothing was written).
    fn set_password_hash(
        &self,
        user: &User,
        new: &PasswordHash,
        sessions: Sessions,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_to_lower_case() {
        assert_eq!(
            Username::parse("Joe.Smith+tag@Example-1_x").unwrap().as_str(),
            "joe.smith+tag@example-1_x"
        );
    }

    #[test]
    fn username_length_is_3_to_64() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn spaces_control_invisible_and_non_ascii_characters_are_refused() {
        for raw in [
            "joe smith",
            "joe\n",
            "jo\u{200b}e",
            "jo\u{202e}e",
            "jöe",
            "joe/..",
            "joe;drop",
            "\u{0}joe",
            "ｊｏｅ",
        ] {
            assert!(Username::parse(raw).is_err(), "{raw:?}");
        }
    }
}
