// Verifies access tokens as a Node service outside the stack would: jose's createRemoteJWKSet
// given only the JWKS URL. Reads one token a line on stdin; prints `valid <sub>` or
// `invalid <reason>`.
//
// Usage: node verify.mjs JWKS_URL ISSUER AUDIENCE
import { createInterface } from 'node:readline';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience] = process.argv.slice(2);
const keys = createRemoteJWKSet(new URL(jwksUrl));
for await (const line of createInterface({ input: process.stdin })) {
  try {
    const { payload } = await jwtVerify(line.trim(), keys, {
      issuer,
      audience,
      algorithms: ['RS256'],
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    console.log('valid', payload.sub);
  } catch (error) {
    console.log('invalid', error.code ?? error.name);
  }
}
