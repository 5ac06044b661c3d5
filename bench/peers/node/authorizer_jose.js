'use strict'
// The Rust authorizer's checks, written as a Node team would with jose (panva's, the library
// most Node code meets for RS256 and JWKS). An API Gateway HTTP API (payload 2.0) Lambda
// authorizer with simple responses; the handler is async, as jose verifies through Web Crypto.
//
// jose 6 ships as ES modules only: this CommonJS module loads it with require(esm), which
// Node 20.19+ and 22.12+ have without a flag (package.json's engines), and which keeps
// NODE_PATH working as for the other peers. The public key, the PEM `PUBLIC KEY`, is imported
// once at load with importSPKI into a CryptoKey; the handler awaits that import, settled before
// the first event. jwtVerify checks the signature (RS256 only), typ as RFC 9068 asks (any case,
// `application/` optional), iss, aud, the required claims, and exp/nbf with the leeway; the kid
// and the other header rules are checked after the signature, on the header it already parsed:
// the verdict is the same with one key.

const { importSPKI, jwtVerify } = require('jose')
const { config, TOKEN_TYPE, LEEWAY_SECONDS, REQUIRED_CLAIMS, tokenOf, headerAllowed, claimsAllowed, allow, deny } =
  require('./authorizer_common')

const KEY = importSPKI(config.publicKeyPem, 'RS256')

const VERIFY_OPTIONS = Object.freeze({
  algorithms: ['RS256'],
  typ: TOKEN_TYPE,
  issuer: config.issuer,
  audience: config.audience,
  requiredClaims: REQUIRED_CLAIMS,
  clockTolerance: LEEWAY_SECONDS
})

/** Allows a request carrying one valid access token; denies anything else, never throws. */
async function handler (event) {
  try {
    const token = tokenOf(event)
    if (token === undefined) return deny()
    const { protectedHeader, payload } = await jwtVerify(token, await KEY, VERIFY_OPTIONS)
    const nowSeconds = Math.floor(Date.now() / 1000)
    return headerAllowed(protectedHeader) && claimsAllowed(payload, nowSeconds) ? allow(payload) : deny()
  } catch {
    return deny()
  }
}

/** How benchmark reports name this peer. */
const peer = {
  id: 'node-jose',
  name: `Node ${process.versions.node} + jose ${require('jose/package.json').version}`
}

module.exports = { handler, peer }
