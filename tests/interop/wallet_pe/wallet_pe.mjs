// wallet_pe.mjs - a standard SIOPv2 + OpenID4VP wallet with Presentation
// Exchange logs in to a real vouchd in credential mode
// (tests/interop/wallet_pe.sh).
//
// The wallet is Sphereon's OP from @sphereon/did-auth-siop 0.19.0, the last
// release that answers a Presentation Exchange definition (SIOPv2 draft 12 +
// OpenID4VP draft 20 / 18; 0.20 is DCQL only), with @sphereon/pex (its
// PresentationExchange class) selecting the credential and writing the
// presentation_submission, and did-jwt-vc encoding the VP as a VC-JWT (the
// encoder Veramo's credential-w3c calls for proofFormat "jwt", through which
// Sphereon's SSI-SDK wallets sign presentations; neither SSI-SDK's
// presentation-exchange package nor Veramo is used here: the signing
// callback PEX asks for calls did-jwt-vc directly, with its defaults).
// The libraries do the protocol work:
//   - the OP parses the openid:// URL, fetches request_uri, finds the spec
//     version, checks the request object (its signature through the verify
//     callback below), builds the id_token, places vp_token and
//     presentation_submission in the response and posts it (direct_post);
//   - PEX evaluates our presentation_definition against the credential,
//     builds the unsigned presentation and the submission;
//   - did-jwt-vc turns the presentation into a JWT (holder -> iss, challenge
//     -> nonce, domain -> aud); did-jwt signs (ES256) and verifies JWTs.
// This script only wires them up: the device key (PEM) as a did-jwt signer,
// a did:web resolver that fetches the document from the test's server
// (did:web:example.com is not reachable here), and a recorder of the HTTP
// requests the library makes (so the test can replay the exact POST).
//
// usage: node wallet_pe.mjs --request OPENID-URL --key DEVICE.pem --did DID
//          --credential CRED.jwt --did-web-origin http://127.0.0.1:PORT
//          [--vp-lifetime SECONDS]
// prints one JSON line: stage, version, request_verified, request_claims,
// id_token {header, claims}, vp_token {header, claims}, presentation_submission,
// post {url, content_type, status, body} (the exact POST), status, body, error.
import {
  OP, PresentationExchange, ResponseIss, ResponseMode, SupportedVersion, VPTokenLocation,
} from '@sphereon/did-auth-siop'
import { ES256Signer, createJWS, verifyJWT } from 'did-jwt'
import { createVerifiablePresentationJwt } from 'did-jwt-vc'
import { Resolver } from 'did-resolver'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import http from 'node:http'

const args = {}
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
for (const k of ['request', 'key', 'did', 'credential', 'did-web-origin']) {
  if (!args[k]) {
    console.error(`wallet_pe: --${k} is missing`)
    process.exit(2)
  }
}
const did = args.did
// --vp-lifetime N: the wallet gives its VP an exp N seconds ahead (did-jwt's
// expiresIn option). Without it, did-jwt-vc's defaults: a VP JWT with no
// iat, nbf or exp (the VC data model has no time claim for a presentation).
const vpLifetime = args['vp-lifetime'] ? Number(args['vp-lifetime']) : 0
const credential = fs.readFileSync(args.credential, 'utf8').trim()
const out = { stage: 'start' }
const decode = (jwt) => {
  const [h, p] = jwt.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')) }
}

// ------------------------------------------------------------ wiring: keys
// The device key (PKCS#8 PEM from `vouch key generate`) as a did-jwt ES256
// signer; its verification method is the did:key's own fragment.
const jwk = crypto.createPrivateKey(fs.readFileSync(args.key, 'utf8')).export({ format: 'jwk' })
if (jwk.crv !== 'P-256') throw new Error('wallet_pe: the device key must be P-256')
const signer = ES256Signer(Buffer.from(jwk.d, 'base64url'))
const kid = `${did}#${did.slice('did:key:'.length)}`

// --------------------------------------------------------- wiring: resolver
// did:web:example.com is served by the test's vouchd at /.well-known/did.json.
const resolver = new Resolver({
  web: async (id, parsed) => {
    if (parsed.id.includes(':')) throw new Error(`wallet_pe: did:web with a path: ${id}`)
    const r = await fetch(`${args['did-web-origin']}/.well-known/did.json`)
    const doc = await r.json()
    return { didResolutionMetadata: { contentType: 'application/did+ld+json' }, didDocument: doc, didDocumentMetadata: {} }
  },
})

// ------------------------------------------------- wiring: HTTP recording
// cross-fetch (node-fetch 2) sends through http.request: keep each request
// (method, URL, headers, body bytes) so that the exact POST can be replayed.
const sent = []
const origRequest = http.request
http.request = function (...a) {
  const req = origRequest.apply(this, a)
  const rec = { method: req.method, url: `http://${req.getHeader('host')}${req.path}`, chunks: [] }
  sent.push(rec)
  req.on('response', (res) => { rec.status = res.statusCode })
  const w = req.write, e = req.end
  req.write = function (chunk, ...rest) {
    if (chunk) rec.chunks.push(Buffer.from(chunk))
    return w.call(this, chunk, ...rest)
  }
  req.end = function (chunk, ...rest) {
    if (chunk && typeof chunk !== 'function') rec.chunks.push(Buffer.from(chunk))
    rec.content_type = req.getHeader('content-type')
    return e.call(this, chunk, ...rest)
  }
  return req
}

// ------------------------------------------------ callbacks of the OP
// Sign what the OP built (header and payload as given; the OP asks for the
// did method with our verification method).
async function createJwt(issuer, jwt) {
  if (issuer.method !== 'did') throw new Error(`wallet_pe: unexpected issuer method ${issuer.method}`)
  return createJWS(jwt.payload, signer, { ...jwt.header, alg: 'ES256', kid: issuer.didUrl })
}

// Verify a request object: client_id_scheme "did", so the key is the
// verification method its kid names in the resolved did:web document;
// did-jwt checks the signature, iat/nbf/exp and the SIOPv2 audience.
let requestVerified = false
async function verifyJwt(verifier, jwt) {
  if (verifier.method !== 'did') throw new Error(`wallet_pe: unexpected verifier method ${verifier.method}`)
  const didUrl = verifier.didUrl
  const issuer = didUrl.split('#')[0]
  const didResolutionResult = await resolver.resolve(issuer)
  const vm = (didResolutionResult.didDocument?.verificationMethod || []).find((m) => m.id === didUrl)
  if (!vm) throw new Error(`wallet_pe: ${didUrl} is not in ${issuer}'s document`)
  const res = await verifyJWT(jwt.raw, {
    resolver, audience: ResponseIss.SELF_ISSUED_V2,
    didAuthenticator: { authenticators: [vm], issuer, didResolutionResult },
  })
  requestVerified = res.verified === true && res.issuer === issuer
  return requestVerified
}

try {
  // ------------------------------------------------------------- request
  out.stage = 'verify-request'
  const op = OP.builder()
    .withIssuer(ResponseIss.SELF_ISSUED_V2)
    .withResponseMode(ResponseMode.DIRECT_POST)
    .withCreateJwtCallback(createJwt)
    .withVerifyJwtCallback(verifyJwt)
    .withSupportedVersions([SupportedVersion.SIOPv2_D12_OID4VP_D20, SupportedVersion.SIOPv2_D12_OID4VP_D18])
    .build()
  const verified = await op.verifyAuthorizationRequest(args.request)
  out.request_verified = requestVerified
  out.version = SupportedVersion[verified.versions?.[0]] ?? verified.versions
  // the claims of the request object merged with those of the URL
  const request = await verified.authorizationRequest.mergedPayloads()
  out.request_claims = Object.keys(await verified.authorizationRequest.requestObject.getPayload()).sort()

  // ------------------------------------------- Presentation Exchange (PEX)
  out.stage = 'select-credential'
  const definitions = verified.presentationDefinitions ??
    await PresentationExchange.findValidPresentationDefinitions(request)
  if (!definitions || definitions.length !== 1) throw new Error(`wallet_pe: ${definitions?.length ?? 0} presentation definitions`)
  const definition = definitions[0].definition
  out.definition_id = definition.id
  const pex = new PresentationExchange({ allDIDs: [did], allVerifiableCredentials: [credential] })
  const selected = await pex.selectVerifiableCredentialsForSubmission(definition)
  out.selected = selected.verifiableCredential?.length ?? 0

  out.stage = 'create-presentation'
  const nonce = request.nonce
  const audience = request.client_id
  const vpResult = await pex.createVerifiablePresentation(definition, selected.verifiableCredential,
    async ({ presentation, proof }) =>
      createVerifiablePresentationJwt(presentation, { did, signer, alg: 'ES256' }, {
        challenge: proof.nonce, domain: proof.domain, header: { kid },
        ...(vpLifetime && { expiresIn: vpLifetime }),
      }),
    { holderDID: did, proofOptions: { nonce, domain: audience } })

  // ------------------------------------------------------------ response
  out.stage = 'create-response'
  const resp = await op.createAuthorizationResponse(verified, {
    issuer: ResponseIss.SELF_ISSUED_V2,
    jwtIssuer: { method: 'did', didUrl: kid, alg: 'ES256' },
    presentationExchange: {
      verifiablePresentations: vpResult.verifiablePresentations,
      presentationSubmission: vpResult.presentationSubmission,
      vpTokenLocation: VPTokenLocation.AUTHORIZATION_RESPONSE,
    },
  })
  const payload = resp.response.payload
  out.response_fields = Object.keys(payload).sort()
  out.id_token = decode(payload.id_token)
  out.vp_token = decode(typeof payload.vp_token === 'string' ? payload.vp_token : payload.vp_token[0])
  out.presentation_submission = typeof payload.presentation_submission === 'string'
    ? JSON.parse(payload.presentation_submission) : payload.presentation_submission

  // --------------------------------------------------------------- submit
  out.stage = 'submit'
  try {
    const r = await op.submitAuthorizationResponse(resp)
    out.status = r.status
    out.body = await r.text()
  } catch (e) {
    // the library throws on a non-2xx answer, with the body as the message
    out.status = 0
    out.body = String(e.message)
  }
  const post = sent.filter((s) => s.method === 'POST').pop()
  if (post) {
    out.post = { url: post.url, content_type: String(post.content_type), status: post.status,
      body: Buffer.concat(post.chunks).toString('latin1') }
  }
  out.stage = 'done'
} catch (e) {
  out.error = String(e && e.message ? e.message : e)
}
console.log(JSON.stringify(out))
