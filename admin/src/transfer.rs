//! `import` and `export`: users as JSON lines, one user a line, the same shape both ways, so that
//! an export with hashes imported into a fresh stack gives back the same accounts.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
};

use auth_core::{
    passwords::PasswordHash,
    users::{CreateUser, Creation, ListUsers, Role, User, Username},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{AdminError, Report, Target, audit, record};

/// Users read from the table per page while exporting.
const EXPORT_PAGE: u32 = 500;
/// The longest line `import` reads: a user is far smaller.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// One user in a file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
}

/// A user id from elsewhere: 1 to 64 ASCII letters, digits, `-` or `_` (ULIDs, UUIDs, ...).
fn user_id(raw: Option<String>) -> Result<String, String> {
    match raw {
        None => Ok(ulid::Ulid::new().to_string()),
        Some(id)
            if (1..=64).contains(&id.len())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(id)
        }
        Some(_) => Err("user_id must be 1 to 64 ASCII letters, digits, '-' or '_'".into()),
    }
}

/// The user a line describes, or why it cannot be imported.
fn user_of(line: &str) -> Result<User, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| format!("not a user: {e}"))?;
    let username = Username::parse(&line.username).map_err(|e| format!("username: {e}"))?;
    let hash = line.password_hash.ok_or("no password_hash: export with --with-hashes")?;
    let password_hash = PasswordHash::import(&hash).map_err(|e| e.to_string())?;
    let created_at = match line.created_at {
        Some(at) if auth_core::clock::is_rfc3339(&at) => at,
        Some(_) => return Err("created_at: not an RFC 3339 time".into()),
        None => auth_core::clock::now_rfc3339(),
    };
    let mut roles = line
        .roles
        .unwrap_or_default()
        .iter()
        .map(|r| Role::parse(r).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    roles.dedup();
    Ok(User {
        username,
        user_id: user_id(line.user_id)?,
        password_hash,
        created_at,
        token_version: 0,
        disabled: line.disabled.unwrap_or(false),
        roles,
    })
}

/// Imports every line of `file` it can, each user in one conditional write: a line is imported
/// whole or not at all, and a name already taken (in the table, or earlier in the file) is kept.
pub async fn import(target: &Target, file: &Path) -> Result<Report, AdminError> {
    let reader = BufReader::new(std::fs::File::open(file).map_err(|e| AdminError::File(file.into(), e))?);
    let (mut imported, mut skipped) = (0u64, Vec::new());
    for (number, line) in reader.split(b'\n').enumerate() {
        let number = number + 1;
        let line = line.map_err(|e| AdminError::File(file.into(), e))?;
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        let user = match line.len() {
            n if n > MAX_LINE_BYTES => Err(format!("longer than {MAX_LINE_BYTES} bytes")),
            _ => user_of(&line),
        };
        let outcome = match user {
            Ok(user) => match target.tables.users.create_user(&user).await? {
                Creation::Created => {
                    audit(target, "import", &user.profile()).await?;
                    imported += 1;
                    continue;
                }
                Creation::NameTaken => format!("{} exists already: kept as it is", user.username.as_str()),
            },
            Err(reason) => reason,
        };
        skipped.push((number, outcome));
    }
    let mut text = format!("{imported} users imported, {} lines skipped\n", skipped.len());
    for (number, reason) in &skipped {
        text.push_str(&format!("  line {number}: {reason}\n"));
    }
    let skipped: Vec<_> =
        skipped.into_iter().map(|(line, reason)| json!({ "line": line, "reason": reason })).collect();
    Ok(Report { text, json: json!({ "imported": imported, "skipped": skipped }) })
}

/// Writes every user to the new file `file`; with `with_hashes`, their password hashes too, and
/// the file is then created readable and writable by its owner only.
pub async fn export(target: &Target, file: &Path, with_hashes: bool) -> Result<Report, AdminError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if with_hashes { 0o600 } else { 0o644 });
    let mut out = std::io::BufWriter::new(options.open(file).map_err(|e| AdminError::File(file.into(), e))?);
    let (mut exported, mut after) = (0u64, None);
    loop {
        let (users, next) = target.tables.users.user_records(EXPORT_PAGE, after.as_ref()).await?;
        for user in users {
            let line = Line {
                username: user.username.as_str().to_owned(),
                password_hash: with_hashes.then(|| user.password_hash.as_str().to_owned()),
                user_id: Some(user.user_id),
                created_at: Some(user.created_at),
                disabled: Some(user.disabled),
                roles: Some(user.roles.iter().map(|r| r.as_str().to_owned()).collect()),
            };
            let json = serde_json::to_string(&line).expect("a user serialises");
            writeln!(out, "{json}").map_err(|e| AdminError::File(file.into(), e))?;
            exported += 1;
        }
        after = next;
        if after.is_none() {
            break;
        }
    }
    out.flush().map_err(|e| AdminError::File(file.into(), e))?;
    let hashes = if with_hashes { "with" } else { "without" };
    let what = format!("{exported} users, {hashes} password hashes");
    record(target, "export", "detail", &what).await?;
    let text = format!("{exported} users exported to {} ({hashes} password hashes)\n", file.display());
    Ok(Report { text, json: json!({ "exported": exported, "file": file, "with_hashes": with_hashes }) })
}
