"""Verifies access tokens as a Python service outside the stack would: PyJWT's PyJWKClient given
only the JWKS URL. Reads one token a line on stdin; prints `valid <sub>` or `invalid <reason>`.

Usage: verify.py JWKS_URL ISSUER AUDIENCE
"""

import sys

import jwt

jwks_url, issuer, audience = sys.argv[1:4]
keys = jwt.PyJWKClient(jwks_url)
for line in sys.stdin:
    token = line.strip()
    try:
        key = keys.get_signing_key_from_jwt(token)
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an at+jwt")
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"], "strict_aud": True},
        )
        print("valid", claims["sub"], flush=True)
    except jwt.PyJWTError as error:
        print("invalid", type(error).__name__, flush=True)
