//! Password hashes made by other systems, as `jwt-auth-admin import` brings them in: bcrypt
//! (`$2a$`, `$2b$`, `$2y$`: Supabase Auth, Auth.js adapters), Werkzeug (`pbkdf2:sha256:...`,
//! `scrypt:...`: Flask apps) and Django (`pbkdf2_sha256$...`). Each is checked exactly as its
//! maker checks it, and only ever once: a login that matches one is upgraded to argon2id.
//!
//! Every parameter is bounded (see [`LIMITS`]), so that no imported line can make its user's
//! logins a denial of service.

use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The dearest hash accepted: bcrypt cost, PBKDF2 iterations, and scrypt memory in bytes
/// (`128 * n * r * p`).
pub const LIMITS: (u32, u32, u64) = (14, 2_000_000, 64 * 1024 * 1024);

/// A hash of another system's, parsed and within [`LIMITS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    /// A whole bcrypt string, which `bcrypt::verify` reads itself. bcrypt looks only at a
    /// password's first 72 bytes.
    Bcrypt(String),
    /// Werkzeug's `pbkdf2:<sha256|sha512>:<iterations>$<salt>$<hex>` (the salt used as text).
    WerkzeugPbkdf2 { sha512: bool, iterations: u32, salt: String, hash: Vec<u8> },
    /// Werkzeug's `scrypt:<n>:<r>:<p>$<salt>$<hex>`, 64 bytes of output.
    WerkzeugScrypt { log_n: u8, r: u32, p: u32, salt: String, hash: Vec<u8> },
    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64>`.
    DjangoPbkdf2 { iterations: u32, salt: String, hash: Vec<u8> },
}

impl Foreign {
    /// The foreign hash `raw` is; `None` if it is none of the kinds above (an argon2 PHC string,
    /// say), and an error if it is one of them but malformed or too dear.
    pub fn parse(raw: &str) -> Option<Result<Self, String>> {
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| raw.starts_with(p)) {
            return Some(bcrypt(raw));
        }
        if let Some(rest) = raw.strip_prefix("pbkdf2:") {
            return Some(werkzeug_pbkdf2(rest));
        }
        if let Some(rest) = raw.strip_prefix("scrypt:") {
            return Some(werkzeug_scrypt(rest));
        }
        if let Some(rest) = raw.strip_prefix("pbkdf2_sha256$") {
            return Some(django(rest));
        }
        None
    }

    /// Whether `password` is the one this hash was made from, compared in constant time.
    pub fn matches(&self, password: &[u8]) -> bool {
        let (derived, expected) = match self {
            Self::Bcrypt(hash) => return ::bcrypt::verify(password, hash).unwrap_or(false),
            Self::WerkzeugPbkdf2 { sha512, iterations, salt, hash } => {
                let mut out = vec![0; hash.len()];
                match sha512 {
                    true => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt.as_bytes(), *iterations, &mut out),
                    false => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), *iterations, &mut out),
                }
                (out, hash)
            }
            Self::DjangoPbkdf2 { iterations, salt, hash } => {
                let mut out = vec![0; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), *iterations, &mut out);
                (out, hash)
            }
            Self::WerkzeugScrypt { log_n, r, p, salt, hash } => {
                let mut out = vec![0; hash.len()];
                let params = scrypt::Params::new(*log_n, *r, *p, hash.len());
                match params.map(|params| scrypt::scrypt(password, salt.as_bytes(), &params, &mut out)) {
                    Ok(Ok(())) => (out, hash),
                    _ => return false,
                }
            }
        };
        bool::from(derived.ct_eq(expected))
    }
}

fn bcrypt(raw: &str) -> Result<Foreign, String> {
    let cost: u32 = raw.get(4..6).and_then(|c| c.parse().ok()).ok_or("bcrypt: no cost")?;
    if raw.len() != 60 || raw.as_bytes()[6] != b'$' {
        return Err("bcrypt: not a 60-character $2?$NN$ string".into());
    }
    if !(4..=LIMITS.0).contains(&cost) {
        return Err(format!("bcrypt: cost {cost} outside 4 to {}", LIMITS.0));
    }
    Ok(Foreign::Bcrypt(raw.to_owned()))
}

/// `<method...>$<salt>$<encoded>`: the three parts, salt and output non-empty.
fn parts(rest: &str) -> Result<(&str, &str, &str), String> {
    let mut parts = rest.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(salt), Some(hash)) if !salt.is_empty() && !hash.is_empty() => {
            Ok((method, salt, hash))
        }
        _ => Err("not <method>$<salt>$<hash>".into()),
    }
}

fn iterations(raw: &str) -> Result<u32, String> {
    let n: u32 = raw.parse().map_err(|_| format!("iterations {raw:?} not a number"))?;
    if (1..=LIMITS.1).contains(&n) { Ok(n) } else { Err(format!("iterations {n} outside 1 to {}", LIMITS.1)) }
}

fn hex(raw: &str) -> Result<Vec<u8>, String> {
    if !raw.len().is_multiple_of(2) || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("hash not hexadecimal".into());
    }
    Ok((0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).expect("checked hex"))
        .collect())
}

fn werkzeug_pbkdf2(rest: &str) -> Result<Foreign, String> {
    let (method, salt, hash) = parts(rest).map_err(|e| format!("Werkzeug pbkdf2: {e}"))?;
    let (digest, count) = method.split_once(':').ok_or("Werkzeug pbkdf2: no iteration count")?;
    let sha512 = match digest {
        "sha256" => false,
        "sha512" => true,
        other => return Err(format!("Werkzeug pbkdf2: digest {other:?} is not sha256 or sha512")),
    };
    let hash = hex(hash).map_err(|e| format!("Werkzeug pbkdf2: {e}"))?;
    if hash.len() != if sha512 { 64 } else { 32 } {
        return Err("Werkzeug pbkdf2: hash of the wrong length".into());
    }
    let iterations = iterations(count).map_err(|e| format!("Werkzeug pbkdf2: {e}"))?;
    Ok(Foreign::WerkzeugPbkdf2 { sha512, iterations, salt: salt.to_owned(), hash })
}

fn werkzeug_scrypt(rest: &str) -> Result<Foreign, String> {
    let (method, salt, hash) = parts(rest).map_err(|e| format!("Werkzeug scrypt: {e}"))?;
    let numbers: Vec<u64> = method
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| "Werkzeug scrypt: n:r:p not numbers")?;
    let [n, r, p] = numbers[..] else { return Err("Werkzeug scrypt: not n:r:p".into()) };
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 {
        return Err("Werkzeug scrypt: n must be a power of two, r and p positive".into());
    }
    if 128u64.saturating_mul(n).saturating_mul(r).saturating_mul(p) > LIMITS.2 {
        return Err(format!("Werkzeug scrypt: more than {} MiB a check", LIMITS.2 >> 20));
    }
    let hash = hex(hash).map_err(|e| format!("Werkzeug scrypt: {e}"))?;
    if hash.len() != 64 {
        return Err("Werkzeug scrypt: hash of the wrong length".into());
    }
    let (r, p) = (u32::try_from(r).map_err(|_| "r")?, u32::try_from(p).map_err(|_| "p")?);
    Ok(Foreign::WerkzeugScrypt { log_n: n.trailing_zeros() as u8, r, p, salt: salt.to_owned(), hash })
}

fn django(rest: &str) -> Result<Foreign, String> {
    let (count, salt, hash) = parts(rest).map_err(|e| format!("Django pbkdf2_sha256: {e}"))?;
    let iterations = iterations(count).map_err(|e| format!("Django pbkdf2_sha256: {e}"))?;
    let hash = STANDARD.decode(hash).map_err(|_| "Django pbkdf2_sha256: hash not base64")?;
    if hash.len() != 32 {
        return Err("Django pbkdf2_sha256: hash of the wrong length".into());
    }
    Ok(Foreign::DjangoPbkdf2 { iterations, salt: salt.to_owned(), hash })
}
