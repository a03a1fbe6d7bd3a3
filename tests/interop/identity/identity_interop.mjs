// identity_interop.mjs - mainstream VC-JWT implementations check what vouch
// makes, and make what vouch must accept (tests/interop/identity.sh).
//
//   node identity_interop.mjs check CASES.json
//     did-jwt-vc verifyCredential accepts each device's ProductionCredential
//     (issuer did:web resolved to the exported did.json), verifyPresentation
//     accepts its vp_token (challenge = nonce, domain = client_id), did-jwt
//     verifyJWT accepts its id_token (audience = client_id), all with
//     key-did-resolver for the did:key; and each refuses tampering, another
//     challenge, another audience and an issuer document without our key.
//     @sphereon/pex (a PE v2 engine wallets use) validates our
//     presentation_definition, finds that the credential satisfies it, and
//     that a credential outside the constraints does not.
//   node identity_interop.mjs make CASES.json OUTDIR
//     did-jwt / did-jwt-vc make each device's id_token and vp_token (with the
//     "$.vp.verifiableCredential[0]" submission path, or the submission
//     @sphereon/pex makes) from its private key, for vouch's verifier
//     (make_login verify).
// Each check prints "ok   ..." or "FAIL ..."; the exit code is the failures.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { Resolver } from 'did-resolver';
import { getResolver as keyResolver } from 'key-did-resolver';
import { verifyCredential, verifyPresentation, createVerifiablePresentationJwt } from 'did-jwt-vc';
import { verifyJWT, createJWT, ES256Signer, EdDSASigner, decodeJWT } from 'did-jwt';
import { PEX, Status } from '@sphereon/pex';

const [mode, casesFile, outDir] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
let failed = 0;

function webResolver(docPath) {
  const doc = JSON.parse(readFileSync(docPath, 'utf8'));
  return {
    web: async (did) => did === doc.id
      ? { didDocument: doc, didDocumentMetadata: {}, didResolutionMetadata: { contentType: 'application/did+ld+json' } }
      : { didDocument: null, didDocumentMetadata: {}, didResolutionMetadata: { error: 'notFound' } },
  };
}
const resolver = new Resolver({ ...keyResolver(), ...webResolver(cases.did_json) });
const foreign = new Resolver({ ...keyResolver(), ...webResolver(cases.other_did_json) });

async function expectOk(name, fn) {
  try {
    const r = await fn();
    console.log(`ok   ${name}`);
    return r;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
async function expectReject(name, fn) {
  try {
    await fn();
    failed++;
    console.log(`FAIL ${name}: accepted`);
  } catch (e) {
    console.log(`ok   ${name} (refused: ${String(e.message).split('\n')[0].slice(0, 80)})`);
  }
}
function assert(cond, what) { if (!cond) throw new Error(what); }
function tamper(jwt) { // flip one bit of the signature's first byte
  const [h, p, s] = jwt.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[0] ^= 1;
  return [h, p, sig.toString('base64url')].join('.');
}

function signerOf(pemPath) {
  const jwk = createPrivateKey(readFileSync(pemPath)).export({ format: 'jwk' });
  const d = Buffer.from(jwk.d, 'base64url');
  return jwk.kty === 'OKP' ? { signer: EdDSASigner(d), alg: 'EdDSA' } : { signer: ES256Signer(d), alg: 'ES256' };
}

if (mode === 'check') {
  for (const dev of cases.devices) {
    const L = dev.login;
    await expectOk(`${dev.name}: did-jwt-vc verifyCredential accepts the ProductionCredential`, async () => {
      const v = await verifyCredential(dev.credential, resolver);
      assert(v.verified, 'not verified');
      assert(v.payload.iss === cases.issuer && v.payload.sub === dev.did, 'iss/sub');
      assert(v.verifiableCredential.type.includes('ProductionCredential'), 'type');
      assert(v.verifiableCredential.credentialSubject.id === dev.did, 'subject');
      assert(v.issuer === cases.issuer, 'issuer');
    });
    await expectReject(`${dev.name}: verifyCredential refuses a tampered signature`,
      () => verifyCredential(tamper(dev.credential), resolver));
    await expectReject(`${dev.name}: verifyCredential refuses an issuer document without our key`,
      () => verifyCredential(dev.credential, foreign));
    await expectOk(`${dev.name}: did-jwt-vc verifyPresentation accepts the vp_token (challenge, domain)`, async () => {
      const v = await verifyPresentation(L.vp_token, resolver, { challenge: L.nonce, domain: L.client_id });
      assert(v.verified && v.issuer === dev.did, 'holder');
      assert(v.verifiablePresentation.verifiableCredential.length === 1, 'one credential');
      // the credential inside verifies on its own too
      const c = await verifyCredential(v.payload.vp.verifiableCredential[0], resolver);
      assert(c.verified && c.payload.sub === dev.did, 'inner credential');
    });
    await expectReject(`${dev.name}: verifyPresentation refuses another challenge`,
      () => verifyPresentation(L.vp_token, resolver, { challenge: 'another-nonce', domain: L.client_id }));
    await expectReject(`${dev.name}: verifyPresentation refuses another domain`,
      () => verifyPresentation(L.vp_token, resolver, { challenge: L.nonce, domain: 'did:web:other.example' }));
    await expectReject(`${dev.name}: verifyPresentation refuses a tampered signature`,
      () => verifyPresentation(tamper(L.vp_token), resolver, { challenge: L.nonce, domain: L.client_id }));
    await expectOk(`${dev.name}: did-jwt verifyJWT accepts the self-issued id_token`, async () => {
      const v = await verifyJWT(L.id_token, { resolver, audience: L.client_id });
      assert(v.payload.iss === dev.did && v.payload.sub === dev.did, 'iss = sub = did');
      assert(v.payload.nonce === L.nonce, 'nonce');
      assert(v.didResolutionResult.didDocument.id === dev.did, 'resolved did:key');
    });
    await expectReject(`${dev.name}: verifyJWT refuses the id_token for another audience`,
      () => verifyJWT(L.id_token, { resolver, audience: 'did:web:other.example' }));
    const pd = decodeJWT(L.request).payload.presentation_definition;
    const pex = new PEX();
    await expectOk(`${dev.name}: @sphereon/pex validates our presentation_definition`, async () => {
      const bad = [].concat(PEX.validateDefinition(pd)).filter((r) => r.status === 'error');
      assert(bad.length === 0, JSON.stringify(bad));
      const f = pd.input_descriptors[0].constraints.fields;
      assert(f.length === 4, `the constrained definition has 4 fields, not ${f.length}`);
    });
    await expectOk(`${dev.name}: @sphereon/pex finds the credential satisfies it (type, hardware, date, producedBy)`, async () => {
      const r = pex.evaluateCredentials(pd, [dev.credential]);
      assert(r.areRequiredCredentialsPresent === Status.INFO, JSON.stringify(r.errors));
      const s = pex.selectFrom(pd, [dev.credential]);
      assert(s.areRequiredCredentialsPresent === Status.INFO && s.verifiableCredential.length === 1, 'selectFrom');
    });
    for (const [what, edit] of [
      ['hardware', (d) => { d.input_descriptors[0].constraints.fields[1].filter.enum = ['board-z']; }],
      ['productionDate', (d) => { d.input_descriptors[0].constraints.fields[2].filter.formatMinimum = '2999-01-01'; }],
      ['producedBy', (d) => { d.input_descriptors[0].constraints.fields[3].filter.enum = ['did:web:other.example']; }],
    ]) {
      await expectOk(`${dev.name}: @sphereon/pex finds a credential outside the ${what} constraint does not`, async () => {
        const d = JSON.parse(JSON.stringify(pd));
        edit(d);
        const r = pex.evaluateCredentials(d, [dev.credential]);
        assert(r.areRequiredCredentialsPresent === Status.ERROR, `status ${r.areRequiredCredentialsPresent}`);
      });
    }
    const sub = JSON.parse(L.presentation_submission);
    await expectOk(`${dev.name}: presentation_submission is PE v2 (jwt_vp at $, jwt_vc nested)`, async () => {
      const m = sub.descriptor_map[0];
      assert(m.format === 'jwt_vp' && m.path === '$' && m.path_nested.format === 'jwt_vc', 'formats');
      assert(m.path_nested.path === '$.verifiableCredential[0]', 'path');
    });
  }
} else if (mode === 'make') {
  mkdirSync(outDir, { recursive: true });
  for (const dev of cases.devices) {
    const { signer, alg } = signerOf(dev.key);
    const L = dev.login;
    const now = Math.floor(Date.now() / 1000);
    // a SIOPv2 id_token as libraries make it: iss = sub = did, kid the DID URL
    const idt = await createJWT({ sub: dev.did, aud: L.client_id, nonce: L.nonce },
      { issuer: dev.did, signer, alg, expiresIn: 300 }, { alg, kid: dev.vm });
    // a VP-JWT from did-jwt-vc, bound to the nonce and the audience
    const vp = await createVerifiablePresentationJwt({
      vp: { '@context': ['https://www.w3.org/2018/credentials/v1'], type: ['VerifiablePresentation'],
            verifiableCredential: [dev.credential] },
      nonce: L.nonce, aud: L.client_id, iat: now, exp: now + 300,
    }, { did: dev.did, signer, alg }, { header: { alg, kid: dev.vm } });
    let subm = {
      id: 'interop-submission', definition_id: 'vouch-production-credential',
      descriptor_map: [{ id: 'production_credential', format: 'jwt_vp', path: '$',
        path_nested: { id: 'production_credential', format: 'jwt_vc', path: '$.vp.verifiableCredential[0]' } }],
    };
    if (dev.name.includes('p256')) {
      // the submission a PE engine makes for our definition
      const pd = decodeJWT(L.request).payload.presentation_definition;
      const pex = new PEX();
      const sel = pex.selectFrom(pd, [dev.credential]); // a wallet selects, then submits
      subm = pex.presentationSubmissionFrom(pd, sel.verifiableCredential);
      console.log(`ok   ${dev.name}: @sphereon/pex made the submission ${JSON.stringify(subm.descriptor_map)}`);
    }
    writeFileSync(`${outDir}/${dev.name}.id_token`, idt);
    writeFileSync(`${outDir}/${dev.name}.vp_token`, vp);
    writeFileSync(`${outDir}/${dev.name}.submission`, JSON.stringify(subm));
    console.log(`ok   ${dev.name}: did-jwt made an id_token and did-jwt-vc a VP (${alg})`);
  }
} else {
  console.error('usage: identity_interop.mjs check|make CASES.json [OUTDIR]');
  process.exit(2);
}
process.exit(failed);
