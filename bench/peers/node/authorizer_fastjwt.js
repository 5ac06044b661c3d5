'use strict'
// The Rust authorizer's checks, written as a Node team would with fast-jwt.
// An API Gateway HTTP API (payload 2.0) Lambda authorizer with simple responses; the
// handler is synchronous (the Node runtime accepts a returned value or a promise).
//
// The verifier is built once at load with a static key, the public key's PEM (so it is
// synchronous), and fast-jwt's default of no cache: a cache would only pay off for a token seen
// again, and the benchmark replays the same tokens every round. clockTolerance is in
// milliseconds here; checkTyp compares the typ as RFC 9068 asks (any case, `application/`
// optional). The verifier runs with complete: true, so the kid and the other header rules are
// checked after the signature, on the header it already parsed: the verdict is the same with
// one key.

const { createVerifier } = require('fast-jwt')
const { config, TOKEN_TYPE, LEEWAY_SECONDS, REQUIRED_CLAIMS, tokenOf, headerAllowed, claimsAllowed, allow, deny } =
  require('./authorizer_common')

const verify = createVerifier({
  key: config.publicKeyPem,
  algorithms: ['RS256'],
  checkTyp: TOKEN_TYPE,
  allowedAud: config.audience,
  allowedIss: config.issuer,
  requiredClaims: REQUIRED_CLAIMS,
  clockTolerance: LEEWAY_SECONDS * 1000,
  complete: true
})

/** Allows a request carrying one valid access token; denies anything else, never throws. */
function handler (event) {
  try {
    const token = tokenOf(event)
    if (token === undefined) return deny()
    const { header, payload } = verify(token)
    const nowSeconds = Math.floor(Date.now() / 1000)
    return headerAllowed(header) && claimsAllowed(payload, nowSeconds) ? allow(payload) : deny()
  } catch {
    return deny()
  }
}

/** How benchmark reports name this peer. */
const peer = {
  id: 'node-fast-jwt',
  name: `Node ${process.versions.node} + fast-jwt ${require('fast-jwt/package.json').version}`
}

module.exports = { handler, peer }
