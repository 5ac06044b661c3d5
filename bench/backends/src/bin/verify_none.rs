//! The floor of the minimal binaries: reads the fixture as they do, and checks nothing.

fn main() {
    let fixture = rsa_backends::Fixture::from_first_argument();
    std::process::exit(if std::hint::black_box(&fixture).signature.is_empty() { 1 } else { 0 })
}
