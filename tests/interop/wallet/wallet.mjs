// wallet.mjs - a standard SIOPv2/OID4VP wallet (Sphereon's OP from
// @sphereon/did-auth-siop) logs in to a real vouchd: it parses the
// openid:// URL, fetches and verifies the request object (signature checked
// here with the server key from the did:web document, by kid), builds a
// self-issued id_token with its did:key and posts it with direct_post.
// usage: node wallet.mjs URL DEVICE-JWK-FILE DEVICE-DID DID-JSON-FILE
// prints one JSON line {"stage", "status", "body", "id_token_claims"}.
import { OP, ResponseIss, ResponseMode, SupportedVersion } from '@sphereon/did-auth-siop'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'

const [url, jwkFile, did, didJsonFile] = process.argv.slice(2)
const key = crypto.createPrivateKey({ key: JSON.parse(fs.readFileSync(jwkFile, 'utf8')), format: 'jwk' })
const didDoc = JSON.parse(fs.readFileSync(didJsonFile, 'utf8'))
const b64u = (b) => Buffer.from(b).toString('base64url')
const out = { stage: 'start' }
let requestVerified = false

async function createJwt(issuer, jwt) {
  const header = { ...jwt.header, alg: 'ES256', typ: 'JWT' }
  if (issuer.method === 'did') header.kid = issuer.didUrl
  const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(jwt.payload))
  return input + '.' + b64u(crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))
}

async function verifyJwt(verifier, jwt) {
  const raw = jwt.raw
  const [h, p, s] = raw.split('.')
  const header = JSON.parse(Buffer.from(h, 'base64url'))
  const vm = (didDoc.verificationMethod || []).find((m) => m.id === header.kid)
  if (!vm || header.alg !== 'ES256') return false
  const pub = crypto.createPublicKey({ key: vm.publicKeyJwk, format: 'jwk' })
  requestVerified = crypto.verify('sha256', Buffer.from(h + '.' + p), { key: pub, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'))
  return requestVerified
}

try {
  const r = await fetch(url + '/auth/siop', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ did }) })
  const start = await r.json()
  out.stage = 'verify-request'
  const op = OP.builder().withExpiresIn(300).withIssuer(ResponseIss.SELF_ISSUED_V2)
    .withResponseMode(ResponseMode.DIRECT_POST).withCreateJwtCallback(createJwt).withVerifyJwtCallback(verifyJwt)
    .withSupportedVersions([SupportedVersion.SIOPv2_OID4VP_D28]).build()
  const verified = await op.verifyAuthorizationRequest(start.request)
  out.request_verified = requestVerified
  out.stage = 'create-response'
  const vm = did + '#' + did.slice('did:key:'.length)
  const resp = await op.createAuthorizationResponse(verified, { issuer: did,
    jwtIssuer: { method: 'did', didUrl: vm, alg: 'ES256' } })
  out.id_token_claims = JSON.parse(Buffer.from(resp.response.payload.id_token.split('.')[1], 'base64url'))
  out.stage = 'submit'
  try {
    const sub = await op.submitAuthorizationResponse(resp)
    out.status = sub.status
    out.body = await sub.text()
  } catch (e) {
    // the library throws on a non-2xx answer, with the body as the message
    out.status = 0
    out.body = String(e.message)
  }
  out.stage = 'done'
} catch (e) {
  out.error = String(e && e.message ? e.message : e)
}
console.log(JSON.stringify(out))
