"""The benchmark run's signing key, with `cryptography` (the peers' venv has it).

    python rsa_key.py private           prints a fresh RSA-2048 private key, PKCS#8 PEM
    python rsa_key.py public < KEY.pem  prints that key's public half, a PEM `PUBLIC KEY`

The private key is what the functions read from JWT_PRIVATE_KEY, as `local-key` makes it for
`make dev`; the public one is all the Python and Node peers are given (JWT_PUBLIC_KEY_PEM).
"""
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BITS = 2048


def main():
    if sys.argv[1:] == ["private"]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=BITS)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    elif sys.argv[1:] == ["public"]:
        key = serialization.load_pem_private_key(sys.stdin.buffer.read(), password=None)
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        sys.exit(__doc__)
    sys.stdout.write(pem.decode("ascii"))


if __name__ == "__main__":
    main()
