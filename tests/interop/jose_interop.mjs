// jose_interop.mjs - panva/jose (an independent JOSE implementation) and the
// vouch CLI check each other's JWS, for ES256 and EdDSA, compact, general
// and flattened:
//   vouch -> jose: tokens made by `vouch jws sign` verify with compactVerify /
//                  generalVerify, using the public JWK printed by
//                  `vouch key public --format jwk`;
//   jose -> vouch: tokens made by CompactSign / GeneralSign / FlattenedSign
//                  with a key jose generated verify with `vouch jws verify`,
//                  given that key as a JWK file and as a PEM file;
//   and both refuse what they must (tampering, a wrong typ, b64:false, an
//   embedded jwk).
// Run by tests/interop/jws.sh (needs VOUCH_CLI). Prints one line per check
// and ends with "jose: N passed, M failed"; exits 1 if anything failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';

const VOUCH = process.env.VOUCH_CLI;
if (!VOUCH) {
  console.error('jose_interop: VOUCH_CLI is not set (run through tests/interop/jws.sh)');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'vouch-jose-'));
let passed = 0;
let failed = 0;

function ok(name) {
  passed++;
  console.log(`PASS jose ${name}`);
}
function bad(name, why) {
  failed++;
  console.log(`FAIL jose ${name}: ${why}`);
}
async function check(name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    bad(name, e && e.message ? e.message : String(e));
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Runs the CLI; returns {status, stdout (Buffer), stderr (string)}.
function vouch(args, input) {
  const r = spawnSync(VOUCH, args, { input, maxBuffer: 8 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}
function vouchOk(args, input) {
  const r = vouch(args, input);
  if (r.status !== 0) throw new Error(`vouch ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}
const file = (name, data) => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

const PAYLOAD = Buffer.concat([Buffer.from('{"release":"2.1.0","note":"bytes follow"}'), randomBytes(48), Buffer.from([0, 0xff, 0x0a])]);
const payloadFile = file('payload.bin', PAYLOAD);

const ALGS = [
  { alg: 'ES256', type: 'p256', gen: () => jose.generateKeyPair('ES256', { extractable: true }) },
  { alg: 'EdDSA', type: 'ed25519', gen: () => jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }) },
];

try {
  for (const A of ALGS) {
    try {
      // ---------------------------------------------------- vouch -> jose
      const priv = join(dir, `${A.type}.pem`);
      vouchOk(['key', 'generate', '--type', A.type, '--out', priv]);
      const jwk = JSON.parse(vouchOk(['key', 'public', priv, '--format', 'jwk']).toString());
      const pub = await jose.importJWK(jwk, A.alg);
      const priv2 = join(dir, `${A.type}-2.pem`);
      vouchOk(['key', 'generate', '--type', A.type, '--out', priv2]);
      const pub2 = await jose.importJWK(JSON.parse(vouchOk(['key', 'public', priv2, '--format', 'jwk']).toString()), A.alg);

      await check(`${A.alg} compact vouch->jose`, async () => {
        const tok = vouchOk(['jws', 'sign', '--key', priv, '--typ', 'release+jwt', '--kid', 'build-1', '--payload', payloadFile]).toString().trim();
        assert(tok.split('.').length === 3, 'not a compact JWS');
        const { payload, protectedHeader } = await jose.compactVerify(tok, pub, { algorithms: [A.alg] });
        assert(Buffer.from(payload).equals(PAYLOAD), 'payload differs');
        assert(protectedHeader.alg === A.alg && protectedHeader.typ === 'release+jwt' && protectedHeader.kid === 'build-1',
          `header ${JSON.stringify(protectedHeader)}`);
        // and jose refuses it tampered, or with the other key
        const [h, p, s] = tok.split('.');
        const tampered = `${h}.${jose.base64url.encode(Buffer.from('evil'))}.${s}`;
        await jose.compactVerify(tampered, pub).then(() => { throw new Error('jose accepted a tampered token'); }, () => {});
        await jose.compactVerify(tok, pub2).then(() => { throw new Error('jose accepted the wrong key'); }, () => {});
      });

      await check(`${A.alg} compact from stdin vouch->jose`, async () => {
        const tok = vouchOk(['jws', 'sign', '--key', priv], Buffer.from('from stdin')).toString().trim();
        const { payload, protectedHeader } = await jose.compactVerify(tok, pub);
        assert(Buffer.from(payload).toString() === 'from stdin', 'payload differs');
        assert(JSON.stringify(protectedHeader) === JSON.stringify({ alg: A.alg }), `header ${JSON.stringify(protectedHeader)}`);
      });

      await check(`${A.alg} general vouch->jose`, async () => {
        const g = JSON.parse(vouchOk(['jws', 'sign', '--key', priv, '--general', '--typ', 'release+jwt', '--payload', payloadFile]).toString());
        assert(Array.isArray(g.signatures) && g.signatures.length === 1, 'not a general JWS');
        const { payload } = await jose.generalVerify(g, pub, { algorithms: [A.alg] });
        assert(Buffer.from(payload).equals(PAYLOAD), 'payload differs');
      });

      await check(`${A.alg} general with an added signature vouch->jose`, async () => {
        const g1 = file(`g1-${A.type}.json`, vouchOk(['jws', 'sign', '--key', priv, '--general', '--kid', 'a', '--payload', payloadFile]));
        const g2 = JSON.parse(vouchOk(['jws', 'sign', '--key', priv2, '--kid', 'b', '--add-to', g1]).toString());
        assert(g2.signatures.length === 2, `${g2.signatures.length} signatures`);
        for (const [k, kid] of [[pub, 'a'], [pub2, 'b']]) {
          const { payload, protectedHeader } = await jose.generalVerify(g2, k);
          assert(Buffer.from(payload).equals(PAYLOAD), 'payload differs');
          assert(protectedHeader.kid === kid, `verified signature has kid ${protectedHeader.kid}`);
        }
      });

      // ---------------------------------------------------- jose -> vouch
      const { publicKey, privateKey } = await A.gen();
      const jwkFile = file(`jose-${A.type}.jwk`, JSON.stringify(await jose.exportJWK(publicKey)));
      const pemFile = file(`jose-${A.type}.pub.pem`, await jose.exportSPKI(publicKey));

      await check(`${A.alg} compact jose->vouch (JWK and PEM key)`, async () => {
        const tok = await new jose.CompactSign(PAYLOAD).setProtectedHeader({ alg: A.alg, typ: 'release+jwt', kid: 'jose-1' }).sign(privateKey);
        const f = file(`jose-compact-${A.type}.jws`, tok);
        for (const key of [jwkFile, pemFile]) {
          const out = vouchOk(['jws', 'verify', '--key', key, '--typ', 'release+jwt', f]);
          assert(out.equals(PAYLOAD), `payload differs (key ${key})`);
        }
        // typ compares case-insensitively with an optional application/ prefix
        vouchOk(['jws', 'verify', '--key', jwkFile, '--typ', 'application/RELEASE+JWT', f]);
        // a token of another kind, and a tampered one, are refused
        let r = vouch(['jws', 'verify', '--key', jwkFile, '--typ', 'login+jwt', f]);
        assert(r.status === 57, `wrong typ: exit ${r.status}, want 57 (VOUCH_E_JWS_TYP)`);
        const [h, , s] = tok.split('.');
        r = vouch(['jws', 'verify', '--key', jwkFile, file(`jose-tampered-${A.type}.jws`, `${h}.${jose.base64url.encode(Buffer.from('evil'))}.${s}`)]);
        assert(r.status !== 0 && r.stdout.length === 0, `tampered: exit ${r.status}, stdout ${r.stdout.length} bytes`);
      });

      await check(`${A.alg} compact jose->vouch on stdin`, async () => {
        const tok = await new jose.CompactSign(Buffer.from('stdin')).setProtectedHeader({ alg: A.alg }).sign(privateKey);
        const out = vouchOk(['jws', 'verify', '--key', jwkFile], Buffer.from(tok));
        assert(out.toString() === 'stdin', 'payload differs');
      });

      await check(`${A.alg} general jose->vouch`, async () => {
        const other = await A.gen();
        const g = await new jose.GeneralSign(PAYLOAD)
          .addSignature(privateKey).setProtectedHeader({ alg: A.alg, typ: 'release+jwt' }).setUnprotectedHeader({ kid: 'jose-1' })
          .addSignature(other.privateKey).setProtectedHeader({ alg: A.alg, kid: 'jose-2' })
          .sign();
        const out = vouchOk(['jws', 'verify', '--key', jwkFile, file(`jose-general-${A.type}.json`, JSON.stringify(g))]);
        assert(out.equals(PAYLOAD), 'payload differs');
      });

      await check(`${A.alg} flattened jose->vouch`, async () => {
        const fl = await new jose.FlattenedSign(PAYLOAD).setProtectedHeader({ alg: A.alg }).setUnprotectedHeader({ kid: 'jose-1' }).sign(privateKey);
        const out = vouchOk(['jws', 'verify', '--key', pemFile, file(`jose-flat-${A.type}.json`, JSON.stringify(fl))]);
        assert(out.equals(PAYLOAD), 'payload differs');
      });

      await check(`${A.alg} jose b64:false and embedded jwk refused by vouch`, async () => {
        const unenc = await new jose.FlattenedSign(Buffer.from('raw')).setProtectedHeader({ alg: A.alg, b64: false, crit: ['b64'] }).sign(privateKey);
        let r = vouch(['jws', 'verify', '--key', jwkFile, file(`jose-b64-${A.type}.json`, JSON.stringify(unenc))]);
        assert(r.status !== 0, 'b64:false accepted');
        assert(r.status === 54 || r.status === 10, `b64:false: exit ${r.status}, want 54 (VOUCH_E_JWS_CRIT) or 10 (VOUCH_E_B64URL)`);
        const emb = await new jose.CompactSign(Buffer.from('x')).setProtectedHeader({ alg: A.alg, jwk: await jose.exportJWK(publicKey) }).sign(privateKey);
        r = vouch(['jws', 'verify', '--key', jwkFile, file(`jose-jwk-${A.type}.jws`, emb)]);
        assert(r.status === 55, `embedded jwk: exit ${r.status}, want 55 (VOUCH_E_JWS_EMBEDDED_KEY)`);
      });
    } catch (e) {
      // keys could not be made or exported: every later check of A is moot
      bad(`${A.alg} setup`, e && e.message ? e.message : String(e));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`jose: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
