'use strict'
// The parts of the Rust authorizer's checks that neither JWT library does, shared by the
// jsonwebtoken and fast-jwt peers. Configuration is read once, at load, from
// JWT_PUBLIC_KEY_PEM (the public key, a PEM `PUBLIC KEY`), JWT_KID, JWT_ISSUER, JWT_AUDIENCE and
// ACCESS_TOKEN_TTL_SECONDS.

function requiredEnv (name) {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const config = Object.freeze({
  publicKeyPem: requiredEnv('JWT_PUBLIC_KEY_PEM'),
  kid: requiredEnv('JWT_KID'),
  issuer: process.env.JWT_ISSUER ?? 'jwt-auth',
  audience: process.env.JWT_AUDIENCE ?? 'jwt-auth-api',
  accessTokenTtlSeconds: Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? 900)
})

const CLIENT_ID = 'jwt-auth'
const TOKEN_TYPE = 'at+jwt'
const LEEWAY_SECONDS = 10
const MAX_TOKEN_BYTES = 4096
const REQUIRED_CLAIMS = ['exp', 'nbf', 'iss', 'aud', 'sub', 'iat', 'jti', 'client_id']
const TOKEN_VALUE = /^(bearer|jwt) ([A-Za-z0-9_.-]+)$/i
const FORBIDDEN_HEADER_PARAMS = ['crit', 'jku', 'jwk', 'x5u', 'x5c', 'zip', 'enc']

/** The one Authorization value: API Gateway's identity source, else the header. */
function authorization (event) {
  const sources = event.identitySource
  if (sources == null) return event.headers?.authorization
  return Array.isArray(sources) && sources.length === 1 ? sources[0] : undefined
}

/**
 * The token of `Bearer <token>` or `JWT <token>` (scheme in any case) at most
 * MAX_TOKEN_BYTES long, else undefined. The token is ASCII, so its length is its bytes.
 */
function tokenOf (event) {
  const value = authorization(event)
  if (typeof value !== 'string') return undefined
  const match = TOKEN_VALUE.exec(value)
  return match && match[2].length <= MAX_TOKEN_BYTES ? match[2] : undefined
}

/** `at+jwt` or `application/at+jwt`, in any case (RFC 9068 §4). */
function isAccessTokenType (typ) {
  return typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === TOKEN_TYPE
}

/** Our kid, the access-token typ, and no header parameter we never issue. */
function headerAllowed (header) {
  return header.kid === config.kid &&
    isAccessTokenType(header.typ) &&
    !FORBIDDEN_HEADER_PARAMS.some((name) => name in header)
}

function nonEmptyString (value) {
  return typeof value === 'string' && value !== ''
}

/**
 * What the libraries leave to the caller once the signature, iss, aud, exp and nbf hold:
 * every required claim present, aud a single string, iat not in the future, a lifetime
 * within the configured one, our client_id, and non-empty sub, username and jti.
 */
function claimsAllowed (claims, nowSeconds) {
  const { aud, exp, iat } = claims
  return REQUIRED_CLAIMS.every((name) => claims[name] != null) &&
    typeof aud === 'string' &&
    typeof iat === 'number' &&
    iat <= nowSeconds + LEEWAY_SECONDS &&
    exp > iat && exp - iat <= config.accessTokenTtlSeconds &&
    claims.client_id === CLIENT_ID &&
    nonEmptyString(claims.sub) && nonEmptyString(claims.username) && nonEmptyString(claims.jti)
}

function allow (claims) {
  return {
    isAuthorized: true,
    context: { sub: claims.sub, username: claims.username, exp: claims.exp, scope: claims.scope ?? '' }
  }
}

function deny () {
  return { isAuthorized: false, context: {} }
}

module.exports = {
  config, TOKEN_TYPE, LEEWAY_SECONDS, REQUIRED_CLAIMS, tokenOf, headerAllowed, claimsAllowed, allow, deny
}
