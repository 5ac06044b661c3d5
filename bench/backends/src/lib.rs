//! One RS256 check (RSA-2048 PKCS#1 v1.5, SHA-256) with each RSA back end the service could
//! link, from the key's modulus and exponent as the service holds them (its JWK's `n` and `e`):
//! ring (what it links), aws-lc-rs and RustCrypto's `rsa` (0.9, which the workspace generates keys
//! with, and 0.10). Each back end is behind its own
//! feature, so that a minimal binary links only its own.

use std::fmt::Write;

/// What a check is given: a public key's modulus and exponent (big-endian), a message and its
/// signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub message: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Fixture {
    /// Four lines of hex: n, e, message, signature.
    pub fn to_text(&self) -> String {
        [&self.n, &self.e, &self.message, &self.signature].iter().fold(String::new(), |mut text, bytes| {
            bytes.iter().for_each(|b| write!(text, "{b:02x}").expect("writing to a String"));
            text.push('\n');
            text
        })
    }

    /// The inverse of [`Self::to_text`]; `None` unless it is four lines of even-length hex.
    pub fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines().map(hex);
        let fixture =
            Self { n: lines.next()??, e: lines.next()??, message: lines.next()??, signature: lines.next()?? };
        lines.next().is_none().then_some(fixture)
    }

    /// The fixture in the file named by the first argument, as the minimal binaries read it;
    /// exits with status 2 if there is none.
    pub fn from_first_argument() -> Self {
        let text = std::env::args().nth(1).and_then(|path| std::fs::read_to_string(path).ok());
        match text.as_deref().and_then(Self::parse) {
            Some(fixture) => fixture,
            None => {
                eprintln!("usage: verify-BACKEND FIXTURE (four lines of hex: n, e, message, signature)");
                std::process::exit(2)
            }
        }
    }
}

fn hex(line: &str) -> Option<Vec<u8>> {
    let digits = line.trim().as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    digits.chunks(2).map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)).collect()
}

/// ring 0.17, as `auth_core::keys::PublicKey::verifies` calls it. ring has no public RSA key
/// type that is parsed once and verifies many times: each check derives the key from `n` and `e`.
#[cfg(feature = "ring")]
pub mod with_ring {
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    use crate::Fixture;

    /// Builds the key from `n` and `e` and checks the signature.
    pub fn verify(f: &Fixture) -> bool {
        let key = RsaPublicKeyComponents { n: &f.n, e: &f.e };
        key.verify(&RSA_PKCS1_2048_8192_SHA256, &f.message, &f.signature).is_ok()
    }
}

/// aws-lc-rs (AWS-LC, BoringSSL's descendant, in C): ring's API, and a key parsed once.
#[cfg(feature = "aws-lc-rs")]
pub mod with_aws_lc_rs {
    use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    use crate::Fixture;

    /// Builds the key from `n` and `e` and checks the signature, as with ring.
    pub fn verify(f: &Fixture) -> bool {
        let key = RsaPublicKeyComponents { n: &f.n, e: &f.e };
        key.verify(&RSA_PKCS1_2048_8192_SHA256, &f.message, &f.signature).is_ok()
    }

    /// The key built once from `n` and `e`, as a verifier would hold it.
    pub struct Parsed(ParsedPublicKey);

    impl Parsed {
        pub fn new(f: &Fixture) -> Option<Self> {
            let key = RsaPublicKeyComponents { n: &f.n, e: &f.e };
            key.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256).ok().map(Self)
        }

        pub fn verify(&self, f: &Fixture) -> bool {
            self.0.verify_sig(&f.message, &f.signature).is_ok()
        }
    }
}

/// RustCrypto's `rsa` 0.9 (pure Rust) with `sha2`, the version the workspace generates keys with.
#[cfg(feature = "rsa")]
pub mod with_rsa {
    use rsa::{
        BigUint, RsaPublicKey,
        pkcs1v15::{Signature, VerifyingKey},
        signature::Verifier,
    };
    use sha2::Sha256;

    use crate::Fixture;

    /// Builds the key from `n` and `e` (which checks it) and checks the signature.
    pub fn verify(f: &Fixture) -> bool {
        Parsed::new(f).is_some_and(|key| key.verify(f))
    }

    /// The key built once from `n` and `e`, as a verifier would hold it.
    pub struct Parsed(VerifyingKey<Sha256>);

    impl Parsed {
        pub fn new(f: &Fixture) -> Option<Self> {
            let key = RsaPublicKey::new(BigUint::from_bytes_be(&f.n), BigUint::from_bytes_be(&f.e)).ok()?;
            Some(Self(VerifyingKey::new(key)))
        }

        pub fn verify(&self, f: &Fixture) -> bool {
            Signature::try_from(f.signature.as_slice())
                .is_ok_and(|signature| self.0.verify(&f.message, &signature).is_ok())
        }
    }
}

/// RustCrypto's `rsa` 0.10, its latest release: the same API on `crypto-bigint`.
#[cfg(feature = "rsa-0_10")]
pub mod with_rsa_0_10 {
    use rsa_0_10::{
        BoxedUint, PublicKey,
        pkcs1v15::{Signature, VerifyingKey},
        sha2::Sha256,
        signature::Verifier,
    };

    use crate::Fixture;

    /// Builds the key from `n` and `e` (which checks it) and checks the signature.
    pub fn verify(f: &Fixture) -> bool {
        Parsed::new(f).is_some_and(|key| key.verify(f))
    }

    /// The key built once from `n` and `e`, as a verifier would hold it.
    pub struct Parsed(VerifyingKey<Sha256>);

    impl Parsed {
        pub fn new(f: &Fixture) -> Option<Self> {
            let bits = |bytes: &[u8]| (bytes.len() * 8).max(64) as u32;
            let n = BoxedUint::from_be_slice(&f.n, bits(&f.n)).ok()?;
            let e = BoxedUint::from_be_slice(&f.e, bits(&f.e)).ok()?;
            Some(Self(VerifyingKey::new(PublicKey::new(n, e).ok()?)))
        }

        pub fn verify(&self, f: &Fixture) -> bool {
            Signature::try_from(f.signature.as_slice())
                .is_ok_and(|signature| self.0.verify(&f.message, &signature).is_ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_round_trips_through_its_text() {
        let fixture =
            Fixture { n: vec![0, 1, 0xab], e: vec![1, 0, 1], message: b"m.p".to_vec(), signature: vec![] };
        assert_eq!(Fixture::parse(&fixture.to_text()), Some(fixture));
        assert_eq!(Fixture::parse("0g\n01\n02\n03\n"), None);
        assert_eq!(Fixture::parse("01\n01\n02\n"), None);
    }
}
