// release_interop.mjs - "each signature of a release, taken with its payload,
// is on its own a valid compact VC-JWT": every signature of a vouch release
// credential (general JWS) is cut out as a compact JWT and checked by
// independent implementations: did-jwt-vc's verifyCredential (resolving the
// vendor's did:web document through did-resolver) and panva/jose.
//   node release_interop.mjs RELEASE.json DID.json EXPECTED-SIGNATURES
import fs from 'node:fs';
import { Resolver } from 'did-resolver';
import { verifyCredential } from 'did-jwt-vc';
import * as jose from 'jose';

const [relPath, didPath, wantSigs] = process.argv.slice(2);
const rel = JSON.parse(fs.readFileSync(relPath, 'utf8'));
const didDoc = JSON.parse(fs.readFileSync(didPath, 'utf8'));
let passed = 0, failed = 0;
const ok = (what) => { passed++; console.log(`ok   - ${what}`); };
const bad = (what, why) => { failed++; console.log(`FAIL - ${what}: ${why}`); };

// did:web as a standard resolver sees it: https://DOMAIN/.well-known/did.json
const resolver = new Resolver({
  web: async (did) => did === didDoc.id
    ? { didDocument: didDoc, didDocumentMetadata: {}, didResolutionMetadata: { contentType: 'application/did+json' } }
    : { didDocument: null, didDocumentMetadata: {}, didResolutionMetadata: { error: 'notFound' } },
});

const sigs = rel.signatures || [];
if (sigs.length === Number(wantSigs)) ok(`release carries ${wantSigs} signatures`);
else bad('signature count', `${sigs.length} != ${wantSigs}`);

const payload = JSON.parse(Buffer.from(rel.payload, 'base64url').toString('utf8'));
for (const [i, s] of sigs.entries()) {
  const jwt = `${s.protected}.${rel.payload}.${s.signature}`;
  const hdr = JSON.parse(Buffer.from(s.protected, 'base64url').toString('utf8'));
  const who = `signature ${i} (${hdr.alg}, kid ${hdr.kid})`;
  try {
    const v = await verifyCredential(jwt, resolver, { policies: { now: payload.nbf + 1 } });
    const types = v.verifiableCredential.type;
    if (v.verified && types.includes('VerifiableFirmwareUpdate') &&
        v.verifiableCredential.credentialSubject.id === payload.sub &&
        v.issuer === didDoc.id)
      ok(`${who}: did-jwt-vc verifyCredential accepts it as a VerifiableFirmwareUpdate from ${v.issuer}`);
    else bad(who, `unexpected result ${JSON.stringify({ verified: v.verified, types, issuer: v.issuer })}`);
  } catch (e) { bad(`${who}: did-jwt-vc`, e.message); }

  // jose, with the key the DID document lists for this signature
  let verified = false;
  for (const vm of didDoc.verificationMethod) {
    try {
      const key = await jose.importJWK(vm.publicKeyJwk, hdr.alg);
      await jose.compactVerify(jwt, key);
      verified = true;
      if ((didDoc.assertionMethod || []).includes(vm.id)) ok(`${who}: jose verifies it with ${vm.id}, an assertionMethod`);
      else bad(who, `${vm.id} is not an assertionMethod`);
      break;
    } catch { /* another key of the document */ }
  }
  if (!verified) bad(`${who}: jose`, 'no key of the DID document verifies it');

  // and tampering is noticed by both
  const flipped = `${s.protected}.${rel.payload}.${s.signature.startsWith('A') ? 'B' : 'A'}${s.signature.slice(1)}`;
  try {
    await verifyCredential(flipped, resolver, { policies: { now: payload.nbf + 1 } });
    bad(`${who}: a flipped signature`, 'accepted by did-jwt-vc');
  } catch { ok(`${who}: did-jwt-vc refuses a flipped signature`); }
  try {
    await verifyCredential(jwt, resolver, { policies: { now: payload.exp + 3600 } });
    bad(`${who}: after exp`, 'accepted by did-jwt-vc');
  } catch { ok(`${who}: did-jwt-vc refuses it after exp`); }
}
console.log(`release-vc: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
