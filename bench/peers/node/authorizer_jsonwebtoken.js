'use strict'
// The Rust authorizer's checks, written as a Node team would with jsonwebtoken.
// An API Gateway HTTP API (payload 2.0) Lambda authorizer with simple responses; the
// handler is synchronous (the Node runtime accepts a returned value or a promise).
//
// BENCH_SECRET_KIND picks how the secret is handed to jwt.verify:
//   keyobject (default)  crypto.createSecretKey(Buffer.from(secret)), made once at load;
//   buffer               Buffer.from(secret), as most code does; jsonwebtoken then tries
//                        createPublicKey (which throws) and createSecretKey on every call.
// jwt.verify({complete: true}) parses the token once and returns its header, so the kid and
// the other header rules are checked after the signature: the verdict is the same with one key.

const { createSecretKey } = require('node:crypto')
const jwt = require('jsonwebtoken')
const { config, LEEWAY_SECONDS, tokenOf, headerAllowed, claimsAllowed, allow, deny } = require('./authorizer_common')

const SECRET_KINDS = {
  keyobject: () => createSecretKey(Buffer.from(config.secret, 'utf8')),
  buffer: () => Buffer.from(config.secret, 'utf8')
}
const secretKind = process.env.BENCH_SECRET_KIND ?? 'keyobject'
if (!(secretKind in SECRET_KINDS)) throw new Error(`BENCH_SECRET_KIND must be keyobject or buffer, not ${secretKind}`)
const KEY = SECRET_KINDS[secretKind]()

const VERIFY_OPTIONS = {
  algorithms: ['HS256'],
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
  id: `node-jsonwebtoken-${secretKind}`,
  name: `Node ${process.versions.node} + jsonwebtoken ${require('jsonwebtoken/package.json').version} (${secretKind} secret)`
}

module.exports = { handler, peer }
