//! The password policy and argon2id hashing (OWASP parameters), always off the async threads.

use argon2::{
    Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version,
    password_hash::{self, SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{BoxError, validation::Invalid};

pub mod foreign;

use foreign::Foreign;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in characters (the body cap bounds the bytes too).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Random salt and output in PHC form with the production parameters; no password is known to
/// match it. Verifying against it when the user does not exist costs the same as a real check,
/// so timing reveals nothing.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$8DD7ReSvVEtw9a5sYQhXmw$zUC3ItVnbvzUpgQVcJ4qylyQMYm5wX5kqjqPaZSyFCo";

/// The passwords of 8 characters or more (shorter ones fail the length rule first) from the
/// `passwords` crate's list of the ~100,000 most common (MIT), one a line in byte order.
/// Kept as text: the crate's `&[&str]` table made the signup binary several times larger, mostly
/// relocations that also slowed every cold start (bench/ANALYSIS.md, measure 4).
static COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Whether `candidate` is on the common-password list: a binary search over the sorted lines.
fn is_common(candidate: &str) -> bool {
    let list = COMMON_PASSWORDS.as_bytes();
    let (mut low, mut high) = (0, list.len());
    while low < high {
        let middle = low + (high - low) / 2;
        let start = list[..middle].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let end = start + list[start..].iter().position(|&b| b == b'\n').unwrap_or(list.len() - start);
        match list[start..end].cmp(candidate.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    false
}

/// A password that meets the policy; it cannot be printed or logged.
pub struct Password(SecretString);

impl Password {
    /// Checks the policy: 8–1024 characters and not among the ~100,000 most common passwords
    /// (ASVS 6.2.4; see [`is_common`]). The password is kept exactly as given: no trimming, no normalisation, no
    /// composition rules.
    pub fn parse(raw: String) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(Invalid::new(format!("Password must be at least {MIN_PASSWORD_CHARS} characters")));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(Invalid::new(format!("Password must be at most {MAX_PASSWORD_CHARS} characters")));
        }
        if is_common(&raw) {
            return Err(Invalid::new(
                "Password is too common; choose one that is not on lists of breached passwords",
            ));
        }
        Ok(Self(raw.into()))
    }

    /// Wraps a login attempt without the length policy: it is only ever compared with a hash.
    pub fn unchecked(raw: String) -> Self {
        Self(raw.into())
    }

    /// Whether two passwords are the same, character for character.
    pub fn same_as(&self, other: &Password) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// A PHC-format argon2id hash as stored with the user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the hash was made as [`hash`] makes one today: argon2id, version 0x13, OWASP
    /// parameters. Any other hash that verifies is replaced at its user's next login.
    pub fn is_current(&self) -> bool {
        let Ok(parsed) = password_hash::PasswordHash::new(&self.0) else { return false };
        let Ok(params) = Params::try_from(&parsed) else { return false };
        parsed.algorithm == Algorithm::Argon2id.ident()
            && parsed.version == Some(Version::V0x13.into())
            && (params.m_cost(), params.t_cost(), params.p_cost()) == (M_COST_KIB, T_COST, P_COST)
    }
}

/// The most an imported argon2 hash may ask of a login: its memory (KiB), passes and lanes.
/// Anything dearer would let one imported line make every login of that user a denial of
/// service.
pub const IMPORT_LIMITS: (u32, u32, u32) = (65_536, 10, 4);

impl PasswordHash {
    /// A hash brought from elsewhere (`jwt-auth-admin import`): an argon2 PHC string (argon2id,
    /// argon2i or argon2d) within [`IMPORT_LIMITS`], or a bcrypt, Werkzeug or Django hash within
    /// [`foreign::LIMITS`]. A login with it is upgraded to today's argon2id like any other
    /// outdated hash.
    pub fn import(raw: &str) -> Result<Self, Invalid> {
        let invalid = |why: &str| Invalid::new(format!("password_hash: {why}"));
        match Foreign::parse(raw) {
            Some(Ok(_)) => return Ok(Self(raw.to_owned())),
            Some(Err(why)) => return Err(invalid(&why)),
            None => {}
        }
        let parsed = password_hash::PasswordHash::new(raw).map_err(|_| invalid("not a PHC string"))?;
        if Algorithm::try_from(parsed.algorithm).is_err() {
            return Err(invalid("not argon2, bcrypt, Werkzeug or Django"));
        }
        let params = Params::try_from(&parsed).map_err(|_| invalid("argon2 parameters out of range"))?;
        let (memory, passes, lanes) = IMPORT_LIMITS;
        if params.m_cost() > memory || params.t_cost() > passes || params.p_cost() > lanes {
            return Err(invalid(&format!(
                "argon2 parameters above m={memory},t={passes},p={lanes}: logins would cost too much"
            )));
        }
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err(invalid("argon2 hash without a salt or an output"));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// Hashing or checking failed for a reason other than a wrong password: a bug or a corrupt hash.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashingError(#[source] BoxError);

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh random salt, on a blocking thread.
#[tracing::instrument(name = "hash password", skip_all)]
pub async fn hash(password: Password) -> Result<PasswordHash, HashingError> {
    run_blocking(move || hash_now(&password)).await
}

fn hash_now(password: &Password) -> Result<PasswordHash, HashingError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.0.expose_secret().as_bytes(), &salt)
        .map(|phc| PasswordHash(phc.to_string()))
        .map_err(|e| HashingError(Box::new(e)))
}

/// Checks a password against a stored hash, on a blocking thread.
///
/// With no stored hash (unknown user) it checks against a dummy hash and returns `false`,
/// taking the same time as a real check.
#[tracing::instrument(name = "verify password", skip_all)]
pub async fn verify(password: Password, stored: Option<PasswordHash>) -> Result<bool, HashingError> {
    run_blocking(move || matches(&password, stored)).await
}

/// What [`verify_and_upgrade`] found.
#[derive(Debug)]
pub struct Verified {
    /// Whether the password matches the stored hash (never for an unknown user).
    pub matches: bool,
    /// A hash of the password made today, when it matched a hash that is not
    /// [current](PasswordHash::is_current): the caller stores it in place of the old one.
    pub upgraded: Option<PasswordHash>,
}

/// Checks a password as [`verify`] does, and when it matches a hash made with another algorithm
/// or other parameters, hashes it again as [`hash`] would, in the same blocking task.
#[tracing::instrument(name = "verify password", skip_all)]
pub async fn verify_and_upgrade(
    password: Password,
    stored: Option<PasswordHash>,
) -> Result<Verified, HashingError> {
    run_blocking(move || {
        let outdated = stored.as_ref().is_some_and(|h| !h.is_current());
        let matches = matches(&password, stored)?;
        let upgraded = (matches && outdated).then(|| hash_now(&password)).transpose()?;
        Ok(Verified { matches, upgraded })
    })
    .await
}

/// The check itself, with the algorithm and parameters the stored hash names.
fn matches(password: &Password, stored: Option<PasswordHash>) -> Result<bool, HashingError> {
    let user_exists = stored.is_some();
    let phc = stored.map_or_else(|| DUMMY_HASH.to_owned(), |h| h.0);
    match Foreign::parse(&phc) {
        Some(Ok(foreign)) => return Ok(user_exists && foreign.matches(password.0.expose_secret().as_bytes())),
        Some(Err(why)) => return Err(HashingError(why.into())),
        None => {}
    }
    let parsed = password_hash::PasswordHash::new(&phc).map_err(|e| HashingError(Box::new(e)))?;
    match hasher().verify_password(password.0.expose_secret().as_bytes(), &parsed) {
        Ok(()) => Ok(user_exists),
        Err(password_hash::Error::Password) => Ok(false),
        Err(e) => Err(HashingError(Box::new(e))),
    }
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HashingError> + Send + 'static,
) -> Result<T, HashingError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| HashingError(BoxError::from(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw.to_owned()).unwrap()
    }

    #[test]
    fn length_is_counted_in_characters_between_8_and_1024() {
        assert!(Password::parse("Zq8#kP2".into()).is_err());
        assert!(Password::parse("Zq8#kP2m".into()).is_ok());
        assert!(Password::parse("é".repeat(8)).is_ok(), "8 two-byte characters");
        assert!(Password::parse("x".repeat(1024)).is_ok());
        assert!(Password::parse("x".repeat(1025)).is_err());
    }

    #[test]
    fn common_passwords_are_refused() {
        for common in ["password", "12345678", "iloveyou", "Password1", "qwerty123", "trustno1"] {
            assert!(Password::parse(common.into()).is_err(), "{common}");
        }
        assert!(Password::parse("correct horse battery".into()).is_ok());
    }

    #[test]
    fn the_common_list_is_sorted_and_every_entry_and_only_entries_are_found() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() > 10_000, "at least the 10,000 most common (ASVS 6.2.4)");
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "strictly ascending byte order");
        assert!(lines.iter().all(|line| line.chars().count() >= MIN_PASSWORD_CHARS));
        let set: std::collections::HashSet<&str> = lines.iter().copied().collect();
        for line in &lines {
            assert!(is_common(line), "{line}");
            for near in [format!("{line}\u{7f}"), format!("{line}0"), line.to_uppercase()] {
                assert_eq!(is_common(&near), set.contains(near.as_str()), "{near}");
            }
        }
        for absent in ["", "\n", "password\npassword", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz~"] {
            assert!(!is_common(absent), "{absent:?}");
        }
    }

    #[test]
    fn passwords_and_hashes_never_print() {
        assert_eq!(format!("{:?}", password("hunter2hunter2")), "Password([REDACTED])");
        assert_eq!(format!("{:?}", PasswordHash("$argon2id$x".into())), "PasswordHash([REDACTED])");
    }

    #[test]
    fn the_dummy_hash_uses_the_production_parameters() {
        let parsed = password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (M_COST_KIB, T_COST, P_COST));
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hash = hash(password("correct horse battery")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(verify(password("correct horse battery"), Some(hash.clone())).await.unwrap());
        assert!(!verify(password("correct horse battery "), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn a_long_password_is_not_truncated() {
        let long = "a".repeat(73);
        let hash = hash(password(&long)).await.unwrap();
        assert!(!verify(password(&long[..72]), Some(hash.clone())).await.unwrap());
        assert!(verify(password(&long), Some(hash)).await.unwrap());
    }

    /// A hash of `password` made with `algorithm` and `params`, as an older policy would have.
    fn legacy_hash(password: &str, algorithm: Algorithm, params: Params) -> PasswordHash {
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::new(algorithm, Version::V0x13, params).hash_password(password.as_bytes(), &salt);
        PasswordHash(phc.unwrap().to_string())
    }

    #[tokio::test]
    async fn a_matching_hash_of_another_algorithm_or_cost_is_replaced_by_a_current_one() {
        let weaker =
            legacy_hash("correct horse battery", Algorithm::Argon2id, Params::new(4096, 3, 1, None).unwrap());
        let argon2i = legacy_hash(
            "correct horse battery",
            Algorithm::Argon2i,
            Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap(),
        );
        for old in [weaker, argon2i] {
            assert!(!old.is_current());
            let wrong =
                verify_and_upgrade(password("correct horse battery!"), Some(old.clone())).await.unwrap();
            assert!(!wrong.matches && wrong.upgraded.is_none(), "a wrong password upgrades nothing");
            let right = verify_and_upgrade(password("correct horse battery"), Some(old)).await.unwrap();
            let new = right.upgraded.expect("upgraded");
            assert!(right.matches && new.is_current(), "{}", new.as_str());
            assert!(verify(password("correct horse battery"), Some(new)).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_current_hash_is_kept() {
        let current = hash(password("correct horse battery")).await.unwrap();
        assert!(current.is_current());
        let checked = verify_and_upgrade(password("correct horse battery"), Some(current)).await.unwrap();
        assert!(checked.matches && checked.upgraded.is_none());
        assert!(!PasswordHash("not a hash".into()).is_current());
    }

    #[test]
    fn the_same_password_is_told_apart_from_another() {
        assert!(password("correct horse battery").same_as(&password("correct horse battery")));
        assert!(!password("correct horse battery").same_as(&password("correct horse batterY")));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify(password("whatever-password"), None).await.unwrap());
    }

    #[tokio::test]
    async fn an_imported_argon2_hash_checks_and_a_dearer_or_unknown_one_is_refused() {
        let made = hash(password("correct horse battery staple")).await.unwrap();
        let imported = PasswordHash::import(made.as_str()).unwrap();
        assert!(verify(password("correct horse battery staple"), Some(imported)).await.unwrap());
        let argon2i =
            "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(!PasswordHash::import(argon2i).unwrap().is_current(), "upgraded at its first login");
        for (raw, why) in [
            ("plaintext", "PHC"),
            (
                "$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
                "too much",
            ),
            ("$argon2id$v=19$m=19456,t=2,p=1", "salt"),
            (
                "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
                "not argon2, bcrypt",
            ),
            ("$2b$15$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "cost 15"),
            (
                "pbkdf2:sha256:5000000$salt$f601b9cd1db351901ca947f53b4cbbb82fad146925eaa2fdb99248ffe5004e29",
                "iterations",
            ),
            ("pbkdf2:md5:1000$salt$f601b9cd1db351901ca947f53b4cbbb8", "digest"),
            ("scrypt:1048576:8:1$salt$00", "MiB"),
            ("pbkdf2_sha256$1000$salt$not base64!", "base64"),
            ("pbkdf2_sha256$1000$$9SfXyPsuA2CvmGyQ+ktSDNzbjSdXEwglcS5LQLVRQSc=", "<method>$<salt>$<hash>"),
        ] {
            let error = PasswordHash::import(raw).unwrap_err().to_string();
            assert!(error.contains(why), "{raw}: {error}");
        }
    }

    /// Made by the systems themselves (Werkzeug 3, Django 5, Python's bcrypt 4) from
    /// "correct horse battery staple".
    const FOREIGN: [&str; 7] = [
        "pbkdf2:sha256:1000$sPwDtLHPo3tSqxEK$f601b9cd1db351901ca947f53b4cbbb82fad146925eaa2fdb99248ffe5004e29",
        "pbkdf2:sha512:1000$lXZCYyXuEqHVKtoX$8abc68eca81c191ed110e58ff5ce15e4bce43f1f92e49317cea6a775dc2277fe0eaea55a208d856ac4c02e40175ca4bf4cbb603ec9dfe570c4d86295c19dc2ef",
        "scrypt:32768:8:1$l4K6HE9YihKktriN$cca4dbbc79bd7003d11a3fd5b00d60e7e1673d83cfcdfbcb77820b1ef0f964a2719b5441817308309482b98519c43585562cb2d2686e68c7e871518e6828ba81",
        "scrypt:1024:8:1$jgMcBAdTv2ftR1tl$447375153595cadd6a548fa47d5c962af460e966e5a35998e5ea5df23bbf2208556089b2e70e66b6c0772cecb2e5125474afc1a826377ef33e66d1125e38ca6b",
        "pbkdf2_sha256$1000$seasalt2026$9SfXyPsuA2CvmGyQ+ktSDNzbjSdXEwglcS5LQLVRQSc=",
        "pbkdf2_sha256$1000000$seasalt2026$KIBCm7WB2RO7F+k/3VFqMEPDn10BxRpI0gVWbiWmyRM=",
        "$2b$04$Ui9gdmHhadHloyJLNwnVGu8yhG9WvOK8Jx.mHh3levv0VdTemD9Yq",
    ];

    #[tokio::test]
    async fn bcrypt_werkzeug_and_django_hashes_check_as_their_makers_do_and_are_upgraded() {
        for raw in FOREIGN {
            let imported = PasswordHash::import(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(!imported.is_current());
            let wrong = verify_and_upgrade(password("correct horse battery stapler"), Some(imported.clone()));
            let wrong = wrong.await.unwrap();
            assert!(!wrong.matches && wrong.upgraded.is_none(), "{raw}");
            let right =
                verify_and_upgrade(password("correct horse battery staple"), Some(imported)).await.unwrap();
            assert!(right.matches, "{raw}");
            let upgraded = right.upgraded.unwrap_or_else(|| panic!("{raw} is replaced"));
            assert!(upgraded.is_current());
            assert!(verify(password("correct horse battery staple"), Some(upgraded)).await.unwrap());
        }
        for prefix in ["$2a$", "$2y$"] {
            let other = FOREIGN[6].replacen("$2b$", prefix, 1);
            let imported = PasswordHash::import(&other).unwrap();
            assert!(
                verify(password("correct horse battery staple"), Some(imported)).await.unwrap(),
                "{prefix}"
            );
        }
    }

    #[tokio::test]
    async fn an_imported_bcrypt_hash_looks_at_72_bytes_only_until_its_first_login_upgrades_it() {
        // Python's bcrypt, from 72 times "x".
        let imported =
            PasswordHash::import("$2b$04$kZil69ElbIS6dUfPTx.8JubQ3HztRAAVboxbbfh1eSQCDUtJiQqZq").unwrap();
        let longer = format!("{}and more", "x".repeat(72));
        let verified = verify_and_upgrade(password(&longer), Some(imported)).await.unwrap();
        assert!(verified.matches, "bcrypt's own limit, as documented");
        let upgraded = verified.upgraded.unwrap();
        assert!(
            !verify(password(&"x".repeat(72)), Some(upgraded)).await.unwrap(),
            "argon2id has no such limit"
        );
    }
}
