"""Measure 4: the TLS stacks and crypto libraries the functions link, and (full mode) the size
of each function's zip as `cargo lambda build` makes it for both architectures.

Usage: sizes.py OUT.json MODE FUNCTION...
"""

import json, os, subprocess, sys, tomllib, zipfile
out, mode, functions = sys.argv[1], sys.argv[2], sys.argv[3:]
tree = subprocess.run(["cargo", "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}"]
                      + [a for f in functions for a in ("-p", f)], capture_output=True, text=True, check=True)
crates = {line.split()[0] for line in tree.stdout.splitlines() if line.strip()}
tls = sorted(c for c in crates if c in ("rustls", "openssl", "native-tls", "boring"))
crypto = sorted(c for c in crates if c in ("aws-lc-rs", "ring", "openssl-sys", "aws-lc-sys", "aws-lc-fips-sys"))
rows = []
if mode == "full":
    for arch in ("arm64", "x86_64"):
        flag = "--arm64" if arch == "arm64" else "--x86-64"
        print(f"cargo lambda build --release {flag}", file=sys.stderr, flush=True)
        subprocess.run(["cargo", "lambda", "build", "--release", "--locked", flag, "--output-format", "zip"]
                       + [a for f in functions for a in ("-p", f)], check=True)
        for f in functions:
            path = f"target/lambda/{f}/bootstrap.zip"
            with zipfile.ZipFile(path) as z:
                binary = sum(i.file_size for i in z.infolist())
            rows.append({"function": f, "arch": arch, "zip_bytes": os.path.getsize(path), "binary_bytes": binary})
profile = tomllib.load(open("Cargo.toml", "rb"))["profile"]["release"]
for package, settings in profile.pop("package", {}).items():
    profile[f"package {package}"] = ", ".join(f"{k} = {v}" for k, v in settings.items())
json.dump({"functions": rows, "tls": {"stacks": tls, "crypto": crypto}, "profile": profile},
          open(out, "w"), indent=1)
