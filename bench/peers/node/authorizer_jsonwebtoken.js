'use strict'
// The Rust authorizer's checks, written as a Node team would with jsonwebtoken.
// An API Gateway HTTP API (payload 2.0) Lambda authorizer with simple responses; the
// handler is synchronous (the Node runtime accepts a returned value or a promise).
//
// BENCH_KEY_KIND picks how the public key is handed to jwt.verify:
//   keyobject (default)  crypto.createPublicKey(pem), made once at load;
//   buffer               Buffer.from(pem), as most code does; jsonwebtoken then parses the PEM
//                        with createPublicKey on every call.
// jwt.verify({complete: true}) parses the token once and returns its header, so the kid, the
// typ (jsonwebtoken has no option for it) and the other header rules are checked after the
// signature: the verdict is the same with one key.

const { createPublicKey } = require('node:crypto')
const jwt = require('jsonwebtoken')
const { config, LEEWAY_SECONDS, tokenOf, headerAllowed, claimsAllowed, allow, deny } = require('./authorizer_common')

const KEY_KINDS = {
  keyobject: () => createPublicKey(config.publicKeyPem),
  buffer: () => Buffer.from(config.publicKeyPem, 'utf8')
}
const keyKind = process.env.BENCH_KEY_KIND ?? 'keyobject'
if (!(keyKind in KEY_KINDS)) throw new Error(`BENCH_KEY_KIND must be keyobject or buffer, not ${keyKind}`)
const KEY = KEY_KINDS[keyKind]()

const VERIFY_OPTIONS = {
  algorithms: ['RS256'],
  audience: config.audience,
  issuer: config.issuer,
  clockTolerance: LEEWAY_SECONDS,
  complete: true
}

/** Allows a request carrying one valid access token; denies anything else, never throws. */
function handler (event) {
  try {
    const token = tokenOf(event)
    if (token === undefined) return deny()
    const { header, payload } = jwt.verify(token, KEY, VERIFY_OPTIONS)
    const nowSeconds = Math.floor(Date.now() / 1000)
    return headerAllowed(header) && claimsAllowed(payload, nowSeconds) ? allow(payload) : deny()
  } catch {
    return deny()
  }
}

/** How benchmark reports name this peer. */
const peer = {
  id: `node-jsonwebtoken-${keyKind}`,
  name: `Node ${process.versions.node} + jsonwebtoken ${require('jsonwebtoken/package.json').version} (${keyKind} key)`
}

module.exports = { handler, peer }
