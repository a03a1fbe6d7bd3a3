// vc_interop.mjs - independent implementations check a vouch project:
//   did-resolver (with a did:web method that serves our did.json) and
//   did-jwt verifyJWT: the DID document and the DomainLinkageCredential are
//   what standard resolvers and verifiers expect (DIF Well Known DID
//   Configuration, JWT proof format);
//   jose (panva): every signature of every signed trust policy verifies
//   with the key that the DID document (current version) or the policy
//   chain (earlier versions) names under the signature's kid.
// usage: node vc_interop.mjs PROJECT-DIR DOMAIN
// Prints one line per check and "vc-interop: N passed, M failed" last.
import fs from 'node:fs';
import path from 'node:path';
import { Resolver } from 'did-resolver';
import { verifyJWT, decodeJWT } from 'did-jwt';
import * as jose from 'jose';

const [dir, domain] = process.argv.slice(2);
const did = `did:web:${domain}`;
let passed = 0, failed = 0;

function check(name, cond, detail = '') {
  if (cond) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}
async function checkAsync(name, fn) {
  try { const r = await fn(); check(name, r !== false); }
  catch (e) { check(name, false, e.message); }
}
async function rejects(name, fn) {
  try { await fn(); check(name, false, 'accepted'); }
  catch (e) { check(name, true); }
}

const didDoc = JSON.parse(fs.readFileSync(path.join(dir, 'did.json'), 'utf8'));
const didConf = JSON.parse(fs.readFileSync(path.join(dir, 'did-configuration.json'), 'utf8'));
const project = JSON.parse(fs.readFileSync(path.join(dir, 'project.json'), 'utf8'));

// did:web as a standard resolver sees it: https://DOMAIN/.well-known/did.json
// -> this document (the HTTP fetch is the only part replaced)
function webResolver(doc) {
  return {
    web: async (d, parsed) => {
      if (parsed.id !== domain) {
        return { didResolutionMetadata: { error: 'notFound' }, didDocument: null, didDocumentMetadata: {} };
      }
      return { didResolutionMetadata: { contentType: 'application/did+json' }, didDocument: doc, didDocumentMetadata: {} };
    },
  };
}
const resolver = new Resolver(webResolver(didDoc));

// --- (a) the DID document --------------------------------------------------
const res = await resolver.resolve(did);
check('did:web resolves through did-resolver', res.didDocument && !res.didResolutionMetadata.error,
  JSON.stringify(res.didResolutionMetadata));
check('document id is the DID', didDoc.id === did);
check('@context is DID v1 then jws-2020',
  Array.isArray(didDoc['@context']) && didDoc['@context'][0] === 'https://www.w3.org/ns/did/v1' &&
  didDoc['@context'].includes('https://w3id.org/security/suites/jws-2020/v1'));
const vms = didDoc.verificationMethod || [];
const vmById = new Map(vms.map((v) => [v.id, v]));
check('verification methods present', vms.length >= 7, `${vms.length}`);
check('verification method ids are unique', vmById.size === vms.length);
for (const vm of vms) {
  check(`${vm.id}: JsonWebKey2020, controller, DID URL`, vm.type === 'JsonWebKey2020' &&
    vm.controller === did && vm.id.startsWith(did + '#') && vm.id.length > did.length + 1);
  check(`${vm.id}: public JWK only`, vm.publicKeyJwk && !('d' in vm.publicKeyJwk));
  const alg = vm.publicKeyJwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
  await checkAsync(`${vm.id}: jose imports the JWK`, async () => {
    await jose.importJWK(vm.publicKeyJwk, alg); return true;
  });
}
for (const rel of ['assertionMethod', 'authentication']) {
  const refs = didDoc[rel] || [];
  check(`${rel} references resolve to verification methods`,
    refs.length > 0 && refs.every((r) => typeof r === 'string' && vmById.has(r)));
}
check('the server key is for authentication only',
  didDoc.authentication.every((r) => r.includes('#server-')) &&
  !didDoc.assertionMethod.some((r) => r.includes('#server-')));
check('root, release, cosign and issuer keys are assertion methods',
  ['root-', 'release-', 'cosign-', 'issuer-'].every((p) => didDoc.assertionMethod.some((r) => r.includes('#' + p))));

// --- (a) the domain-linkage credential -----------------------------------------
check('did-configuration @context',
  didConf['@context'] === 'https://identity.foundation/.well-known/did-configuration/v1');
check('linked_dids is a non-empty array', Array.isArray(didConf.linked_dids) && didConf.linked_dids.length > 0);
for (const jwt of didConf.linked_dids || []) {
  const { header, payload } = decodeJWT(jwt);
  check('linkage JWT header: alg and a kid that is a DID URL of the issuer',
    ['ES256', 'EdDSA'].includes(header.alg) && typeof header.kid === 'string' &&
    header.kid.startsWith(did + '#') && vmById.has(header.kid));
  check('linkage JWT claims: iss = sub = credentialSubject.id = the DID',
    payload.iss === did && payload.sub === did && payload.vc?.credentialSubject?.id === did);
  check('linkage JWT: origin is https://DOMAIN', payload.vc?.credentialSubject?.origin === `https://${domain}`);
  check('linkage JWT: VC 1.1 context and DIF context',
    payload.vc['@context'][0] === 'https://www.w3.org/2018/credentials/v1' &&
    payload.vc['@context'].includes('https://identity.foundation/.well-known/did-configuration/v1'));
  check('linkage JWT: type DomainLinkageCredential',
    JSON.stringify(payload.vc.type) === JSON.stringify(['VerifiableCredential', 'DomainLinkageCredential']));
  check('linkage JWT: nbf and exp are present and ordered',
    Number.isInteger(payload.nbf) && Number.isInteger(payload.exp) && payload.exp > payload.nbf);
  await checkAsync('did-jwt verifyJWT accepts the linkage credential (assertionMethod)', async () => {
    const v = await verifyJWT(jwt, { resolver, proofPurpose: 'assertionMethod', policies: { now: payload.nbf + 1 } });
    return v.verified && v.issuer === did && v.signer.id === header.kid;
  });
  await rejects('did-jwt refuses it as an authentication proof (wrong relationship)', () =>
    verifyJWT(jwt, { resolver, proofPurpose: 'authentication', policies: { now: payload.nbf + 1 } }));
  await rejects('did-jwt refuses it after exp', () =>
    verifyJWT(jwt, { resolver, proofPurpose: 'assertionMethod', policies: { now: payload.exp + 3600 } }));
  await rejects('did-jwt refuses it before nbf', () =>
    verifyJWT(jwt, { resolver, proofPurpose: 'assertionMethod', policies: { now: payload.nbf - 3600 } }));
  const [h, p, s] = jwt.split('.');
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  await rejects('did-jwt refuses a tampered signature', () =>
    verifyJWT(`${h}.${p}.${flipped}`, { resolver, proofPurpose: 'assertionMethod', policies: { now: payload.nbf + 1 } }));
  const noIssuer = { ...didDoc, assertionMethod: didDoc.assertionMethod.filter((r) => r !== header.kid),
    verificationMethod: vms.filter((v) => v.id !== header.kid) };
  await rejects('did-jwt refuses it when the DID document lacks the issuer key', () =>
    verifyJWT(jwt, { resolver: new Resolver(webResolver(noIssuer)), proofPurpose: 'assertionMethod', policies: { now: payload.nbf + 1 } }));
  // the DIF verifier's origin check: the credential binds this DID to this origin only
  check('origin differs for another domain', payload.vc.credentialSubject.origin !== 'https://evil.example');
}

// --- (b) trust policies: every signature under an independent JOSE ------------
function b64json(s) { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')); }
const current = project.policyVersion;
let prevKeys = null;
for (let v = 1; v <= current; v++) {
  const file = path.join(dir, 'policy', `${v}.jws`);
  const jws = JSON.parse(fs.readFileSync(file, 'utf8'));
  const payload = b64json(jws.payload);
  check(`policy ${v}: general JWS with payload version ${v}`,
    Array.isArray(jws.signatures) && payload.version === v && payload.type === 'vouch-trust-policy');
  // which keys may sign: this version's roots, and (for a rotation) the previous version's
  const own = payload.keys;
  const roots = new Set(payload.roles.root.keys);
  let validOwn = 0, validPrev = 0;
  for (const [i, sig] of jws.signatures.entries()) {
    const hdr = b64json(sig.protected);
    check(`policy ${v} sig ${i}: typ vouch-policy+jwt, alg, kid`,
      hdr.typ === 'vouch-policy+jwt' && ['ES256', 'EdDSA'].includes(hdr.alg) && typeof hdr.kid === 'string');
    // the key: from the DID document for the current version, else from the policies
    let jwk = null;
    if (v === current && vmById.has(`${did}#${hdr.kid}`)) jwk = vmById.get(`${did}#${hdr.kid}`).publicKeyJwk;
    else if (own[hdr.kid]) jwk = own[hdr.kid];
    else if (prevKeys && prevKeys[hdr.kid]) jwk = prevKeys[hdr.kid];
    if (v === current && roots.has(hdr.kid))
      check(`policy ${v} sig ${i}: key ${hdr.kid} comes from the DID document`, vmById.has(`${did}#${hdr.kid}`));
    await checkAsync(`policy ${v} sig ${i} (${hdr.kid}): jose flattenedVerify`, async () => {
      const key = await jose.importJWK(jwk, hdr.alg);
      const r = await jose.flattenedVerify({ payload: jws.payload, protected: sig.protected, signature: sig.signature }, key);
      return Buffer.from(r.payload).toString('utf8') === Buffer.from(jws.payload, 'base64url').toString('utf8');
    });
    if (roots.has(hdr.kid)) validOwn++;
    if (prevKeys && prevKeys.__roots.has(hdr.kid)) validPrev++;
  }
  check(`policy ${v}: its own root threshold of signatures`, validOwn >= payload.roles.root.threshold,
    `${validOwn} < ${payload.roles.root.threshold}`);
  if (prevKeys)
    check(`policy ${v}: the previous version's root threshold too`, validPrev >= prevKeys.__threshold,
      `${validPrev} < ${prevKeys.__threshold}`);
  await checkAsync(`policy ${v}: jose generalVerify with the DID-document/policy keys`, async () => {
    const r = await jose.generalVerify(jws, async (hdr) => jose.importJWK(own[hdr.kid] || prevKeys[hdr.kid], hdr.alg));
    return r.protectedHeader.typ === 'vouch-policy+jwt';
  });
  const tampered = { ...jws, payload: Buffer.from(JSON.stringify({ ...payload, version: v + 1 })).toString('base64url') };
  await rejects(`policy ${v}: jose refuses a changed payload`, () =>
    jose.generalVerify(tampered, async (hdr) => jose.importJWK(own[hdr.kid] || prevKeys[hdr.kid], hdr.alg)));
  prevKeys = { ...own, __roots: roots, __threshold: payload.roles.root.threshold };
}
check('project.json names the DID', project.did === did && project.domain === domain);

console.log(`vc-interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
