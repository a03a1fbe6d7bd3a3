#!/usr/bin/python3
"""jwcrypto_interop.py - Debian's python3-jwcrypto (an independent JOSE
implementation on python3-cryptography) and the vouch CLI check each other's
JWS, for ES256 and EdDSA (Ed25519), compact and JSON serializations:

  vouch -> jwcrypto: tokens from `vouch jws sign` verify with JWS.verify,
                     given the public key as the JWK and as the PEM that
                     `vouch key public` prints;
  jwcrypto -> vouch: tokens signed with a key jwcrypto generated verify with
                     `vouch jws verify`, given that key as JWK and PEM files;
  and both sides refuse tampered tokens and the wrong key.

It must run under Debian's interpreter (/usr/bin/python3), where the
python3-jwcrypto package lives. Run by tests/interop/jws.sh (VOUCH_CLI set).
Prints one line per check, then "jwcrypto: N passed, M failed"; exits 1 if
anything failed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from jwcrypto import jwk, jws
from jwcrypto.common import base64url_encode, json_encode

VOUCH = os.environ.get("VOUCH_CLI")
if not VOUCH:
    sys.exit("jwcrypto_interop: VOUCH_CLI is not set (run through tests/interop/jws.sh)")

PAYLOAD = b'{"release":"2.1.0"}' + os.urandom(40) + b"\x00\xff\n"
ALGS = [("ES256", "p256", dict(kty="EC", crv="P-256")),
        ("EdDSA", "ed25519", dict(kty="OKP", crv="Ed25519"))]

passed = failed = 0
tmp = tempfile.mkdtemp(prefix="vouch-jwcrypto-")


def vouch(args, stdin=None):
    return subprocess.run([VOUCH] + args, input=stdin, capture_output=True, check=False)


def vouch_ok(args, stdin=None):
    r = vouch(args, stdin)
    if r.returncode != 0:
        raise AssertionError("vouch %s exited %d: %s" % (" ".join(args), r.returncode,
                                                         r.stderr.decode(errors="replace").strip()))
    return r.stdout


def path(name, data=None):
    p = os.path.join(tmp, name)
    if data is not None:
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    return p


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("PASS jwcrypto %s" % name)
    except Exception as e:  # report every failure, keep going
        failed += 1
        print("FAIL jwcrypto %s: %s: %s" % (name, type(e).__name__, e))


def must_fail(fn, what):
    try:
        fn()
    except Exception:
        return
    raise AssertionError("jwcrypto accepted " + what)


def jwcrypto_verify(text, key, alg):
    s = jws.JWS()
    s.deserialize(text)
    s.verify(key, alg)
    return s.payload


def run_alg(alg, vtype, gen):
    # ---------------------------------------------------- vouch -> jwcrypto
    priv = path("%s.pem" % vtype)
    priv2 = path("%s-2.pem" % vtype)
    vouch_ok(["key", "generate", "--type", vtype, "--out", priv])
    vouch_ok(["key", "generate", "--type", vtype, "--out", priv2])
    pub = jwk.JWK.from_json(vouch_ok(["key", "public", priv, "--format", "jwk"]).decode())
    pub_pem = jwk.JWK.from_pem(vouch_ok(["key", "public", priv, "--format", "pem"]))
    pub2 = jwk.JWK.from_json(vouch_ok(["key", "public", priv2, "--format", "jwk"]).decode())
    payload_file = path("payload.bin", PAYLOAD)

    def compact_v2j():
        tok = vouch_ok(["jws", "sign", "--key", priv, "--typ", "release+jwt", "--kid", "b1",
                        "--payload", payload_file]).decode().strip()
        for k in (pub, pub_pem):
            assert jwcrypto_verify(tok, k, alg) == PAYLOAD, "payload differs"
        s = jws.JWS()
        s.deserialize(tok)
        hdr = json.loads(s.objects["protected"])
        assert hdr == {"alg": alg, "typ": "release+jwt", "kid": "b1"}, hdr
        h, _, sig = tok.split(".")
        must_fail(lambda: jwcrypto_verify(h + "." + base64url_encode(b"evil") + "." + sig, pub, alg),
                  "a tampered token")
        must_fail(lambda: jwcrypto_verify(tok, pub2, alg), "the wrong key")

    def general_v2j():
        g1 = path("g1-%s.json" % vtype, vouch_ok(["jws", "sign", "--key", priv, "--general",
                                                  "--kid", "a", "--payload", payload_file]))
        assert jwcrypto_verify(open(g1).read(), pub, alg) == PAYLOAD, "payload differs"
        g2 = vouch_ok(["jws", "sign", "--key", priv2, "--kid", "b", "--add-to", g1]).decode()
        assert len(json.loads(g2)["signatures"]) == 2
        for k in (pub, pub2):
            assert jwcrypto_verify(g2, k, alg) == PAYLOAD, "payload differs"

    check("%s compact vouch->jwcrypto (JWK and PEM key)" % alg, compact_v2j)
    check("%s general vouch->jwcrypto (2 signatures)" % alg, general_v2j)

    # ---------------------------------------------------- jwcrypto -> vouch
    key = jwk.JWK.generate(**gen)
    jwk_file = path("jwc-%s.jwk" % vtype, key.export_public())
    pem_file = path("jwc-%s.pub.pem" % vtype, key.export_to_pem(private_key=False))

    def compact_j2v():
        s = jws.JWS(PAYLOAD)
        s.add_signature(key, None, json_encode({"alg": alg, "typ": "release+jwt", "kid": "jwc"}))
        tok = s.serialize(compact=True)
        f = path("jwc-%s.jws" % vtype, tok)
        for k in (jwk_file, pem_file):
            out = vouch_ok(["jws", "verify", "--key", k, "--typ", "release+jwt", f])
            assert out == PAYLOAD, "payload differs"
        out = vouch_ok(["jws", "verify", "--key", jwk_file], stdin=tok.encode())
        assert out == PAYLOAD, "payload differs (stdin)"
        r = vouch(["jws", "verify", "--key", jwk_file, "--typ", "login+jwt", f])
        assert r.returncode == 57, "wrong typ: exit %d, want 57" % r.returncode
        h, _, sig = tok.split(".")
        r = vouch(["jws", "verify", "--key", jwk_file,
                   path("jwc-t-%s.jws" % vtype, h + "." + base64url_encode(b"evil") + "." + sig)])
        assert r.returncode != 0 and not r.stdout, "tampered token: exit %d" % r.returncode

    def json_j2v():
        # one signature: jwcrypto writes the flattened form
        s = jws.JWS(PAYLOAD)
        s.add_signature(key, None, json_encode({"alg": alg}), json_encode({"kid": "jwc"}))
        flat = s.serialize()
        assert "signatures" not in json.loads(flat), "expected a flattened JWS"
        out = vouch_ok(["jws", "verify", "--key", pem_file, path("jwc-f-%s.json" % vtype, flat)])
        assert out == PAYLOAD, "payload differs (flattened)"
        # two signatures: the general form
        other = jwk.JWK.generate(**gen)
        s.add_signature(other, None, json_encode({"alg": alg, "kid": "other"}))
        gen_text = s.serialize()
        assert len(json.loads(gen_text)["signatures"]) == 2, "expected a general JWS"
        out = vouch_ok(["jws", "verify", "--key", jwk_file, path("jwc-g-%s.json" % vtype, gen_text)])
        assert out == PAYLOAD, "payload differs (general)"

    check("%s compact jwcrypto->vouch (JWK and PEM key)" % alg, compact_j2v)
    check("%s flattened and general jwcrypto->vouch" % alg, json_j2v)


try:
    for a, t, g in ALGS:
        try:
            run_alg(a, t, g)
        except Exception as e:  # keys could not be made: count it, go on
            failed += 1
            print("FAIL jwcrypto %s keys: %s: %s" % (a, type(e).__name__, e))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("jwcrypto: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
