//! Writes a fresh RSA private key (PKCS#8 PEM, owner-only) to the path given, unless a file is
//! already there. Used by `make dev` and `make test` for the local signing key.

use std::{fs::OpenOptions, io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf};

fn main() -> Result<(), auth_core::BoxError> {
    let path: PathBuf = std::env::args_os().nth(1).ok_or("usage: local-key PATH")?.into();
    let pem = auth_core::keys::generate()?;
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(mut file) => file.write_all(pem.as_bytes())?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
