//! The smallest program of one back end, RustCrypto's rsa 0.10: builds the public key from its modulus and exponent
//! and checks one RS256 signature (exit status 0 if it holds), for its size and cold start.

fn main() {
    let fixture = rsa_backends::Fixture::from_first_argument();
    std::process::exit(if rsa_backends::with_rsa_0_10::verify(&fixture) { 0 } else { 1 })
}
