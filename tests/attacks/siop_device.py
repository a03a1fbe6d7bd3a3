#!/usr/bin/python3
"""siop_device.py - a hostile (or honest) device for vouchd's login, for
tests/attacks/attack_login.sh and tests/integration/login.sh.

It is an independent implementation on Debian's python3-cryptography: it
signs the tokens itself (ES256 raw r||s, EdDSA), so that it can make every
malformed or malicious variant THREATS.md class E names, and it reads the
server's SQLite database with bound parameters only.

  siop_device.py did KEY.pem
  siop_device.py vc --issuer-key PEM --issuer DID --kid KID --device DID
                    --serial S --hardware H [--produced-by P] [--date D]
                    [--iat-offset N] [--lifetime N]
  siop_device.py login --url URL --key PEM --vc FILE [--case CASE]
                    [--other-key PEM --other-vc FILE] [--replay] [--sleep N]
      prints one JSON line: {"status", "body", "state", "nonce", "replay": {...}}
  siop_device.py post --url URL --path P --body TEXT|@FILE [--ctype T]
                    [--method M] [--content-length N]
  siop_device.py db --db PATH [--state STATE]
      prints {"logins", "used", "tokens", "audit", "clone", "state_used"}
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import sqlite3
import sys
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b58(b):
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    pad = len(b) - len(b.lstrip(b"\0"))
    return "1" * pad + out


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def did_of(key):
    pub = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "did:key:z" + b58(b"\xed\x01" + raw)
    raw = pub.public_bytes(serialization.Encoding.X962,
                           serialization.PublicFormat.CompressedPoint)
    return "did:key:z" + b58(b"\x80\x24" + raw)


def jwk_of(key, private=False):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        j = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
        if private:
            j["d"] = b64u(key.private_bytes(serialization.Encoding.Raw,
                                            serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption()))
        return j
    n = key.public_key().public_numbers()
    j = {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")),
         "y": b64u(n.y.to_bytes(32, "big"))}
    if private:
        j["d"] = b64u(key.private_numbers().private_value.to_bytes(32, "big"))
    return j


def sign(key, header, claims):
    if "alg" not in header:
        header = dict(header, alg="EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey)
                      else "ES256")
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    msg = (h + "." + p).encode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(msg)
    else:
        r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return h + "." + p + "." + b64u(sig)


def payload_of(jwt):
    return json.loads(b64u_dec(jwt.split(".")[1]))


def vm_of(did):
    return did + "#" + did[len("did:key:"):]


# ------------------------------------------------------------------ HTTP

class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def request(self, method, path, body=None, ctype=None, headers=None):
        hdrs = dict(headers or {})
        if ctype:
            hdrs["Content-Type"] = ctype
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, r.getheader("Content-Type", ""), data.decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


# ------------------------------------------------------------- commands

def cmd_did(a):
    print(did_of(load_key(a.key)))


def cmd_vc(a):
    key = load_key(a.issuer_key)
    now = int(time.time()) + a.iat_offset
    kid = a.kid if "#" in a.kid else a.issuer + "#" + a.kid
    subject = {"id": a.device, "producedBy": a.produced_by, "productionDate": a.date,
               "serialNumber": a.serial, "hardware": a.hardware}
    claims = {"iss": a.issuer, "sub": a.device, "jti": "urn:uuid:" + str(uuid.uuid4()),
              "iat": now, "nbf": now, "exp": now + a.lifetime,
              "vc": {"@context": ["https://www.w3.org/2018/credentials/v1"],
                     "type": ["VerifiableCredential", a.type],
                     "credentialSubject": subject}}
    print(sign(key, {"typ": "JWT", "kid": kid}, claims))


def build_tokens(case, key, did, vc, req, other_key=None, other_vc=None):
    """The three response fields for this case."""
    now = int(time.time())
    aud, nonce = req["client_id"], req["nonce"]
    kid = vm_of(did)
    idt = {"iss": did, "sub": did, "aud": aud, "nonce": nonce, "iat": now, "exp": now + 300}
    id_hdr = {"typ": "JWT", "kid": kid}
    vpt = {"iss": did, "aud": aud, "nonce": nonce, "iat": now, "nbf": now, "exp": now + 300,
           "jti": "urn:uuid:" + str(uuid.uuid4()),
           "vp": {"@context": ["https://www.w3.org/2018/credentials/v1"],
                  "type": ["VerifiablePresentation"], "verifiableCredential": [vc]}}
    vp_key, vp_hdr = key, {"typ": "JWT", "kid": kid}
    path = "$.verifiableCredential[0]"
    if case == "no-nonce":
        del idt["nonce"]
    elif case == "wrong-nonce":
        idt["nonce"] = b64u(os.urandom(16))
        vpt["nonce"] = idt["nonce"]
    elif case == "wrong-aud":
        idt["aud"] = "did:web:evil.example"
    elif case == "iss-ne-sub":
        idt["iss"] = did_of(other_key)
    elif case == "sub-not-key":
        # signed by our key, naming another key as subject (no kid: the
        # token must name its key in its claims)
        idt["sub"] = did_of(other_key)
        idt["iss"] = idt["sub"]
        id_hdr = {"typ": "JWT"}
    elif case == "sub-not-key-kid":
        idt["sub"] = did_of(other_key)
    elif case == "private-jwk":
        idt["sub_jwk"] = jwk_of(key, private=True)
    elif case == "header-jwk":
        id_hdr = {"typ": "JWT", "kid": kid, "jwk": jwk_of(key, private=True)}
    elif case == "holder-ne-subject":
        # a presentation by another device (its key, its credential)
        odid = did_of(other_key)
        vp_key, vp_hdr = other_key, {"typ": "JWT", "kid": vm_of(odid)}
        vpt["iss"] = odid
        vpt["vp"]["verifiableCredential"] = [other_vc]
    elif case == "holder-claim":
        vpt["iss"] = did_of(other_key)
    elif case == "vp-wrong-nonce":
        vpt["nonce"] = b64u(os.urandom(16))
    elif case == "vp-no-nonce":
        del vpt["nonce"]
    elif case == "vp-wrong-aud":
        vpt["aud"] = "did:web:evil.example"
    elif case == "vc-other":
        vpt["vp"]["verifiableCredential"] = [other_vc]
    elif case == "siop-issuer":
        idt["iss"] = "https://self-issued.me/v2"
    elif case == "vp-path":
        path = "$.vp.verifiableCredential[0]"
    elif case == "typ-authz":
        id_hdr["typ"] = "oauth-authz-req+jwt"
    elif case == "bad-sig":
        pass
    elif case not in ("ok", "state-unknown", "state-later", "expired", "dup-field", "unknown-field",
                      "no-vp"):
        raise SystemExit("unknown case " + case)
    id_token = sign(key, id_hdr, idt)
    if case == "bad-sig":
        h, p, s = id_token.split(".")
        sig = bytearray(b64u_dec(s))
        sig[5] ^= 1
        id_token = h + "." + p + "." + b64u(bytes(sig))
    vp_token = sign(vp_key, vp_hdr, vpt)
    sub = {"id": str(uuid.uuid4()), "definition_id": req["definition_id"],
           "descriptor_map": [{"id": req["descriptor_id"], "format": "jwt_vp", "path": "$",
                               "path_nested": {"id": req["descriptor_id"], "format": "jwt_vc",
                                               "path": path}}]}
    return id_token, vp_token, json.dumps(sub, separators=(",", ":"))


def start_login(c, did, c_get=None):
    st, ct, body = c.request("POST", "/auth/siop", json.dumps({"did": did}), "application/json")
    if st != 200:
        raise SystemExit("POST /auth/siop: %d %s" % (st, body))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(json.loads(body)["request"]).query)
    st, ct, jwt = (c_get or c).request("GET", path_of(q["request_uri"][0]))
    if st != 200:
        raise SystemExit("GET request_uri: %d %s" % (st, jwt))
    req = payload_of(jwt)
    pd = req.get("presentation_definition") or {}
    req["definition_id"] = pd.get("id", "")
    req["descriptor_id"] = (pd.get("input_descriptors") or [{}])[0].get("id", "")
    return req


def cmd_login(a):
    c = Client(a.url)
    key = load_key(a.key)
    did = did_of(key)
    vc = open(a.vc).read().strip() if a.vc else ""
    other_key = load_key(a.other_key) if a.other_key else ec.generate_private_key(ec.SECP256R1())
    other_vc = open(a.other_vc).read().strip() if a.other_vc else ""
    # --answer-url: started on one server, fetched and answered on another
    # sharing its database (which has no local copy of the login)
    c_ans = Client(a.answer_url) if a.answer_url else c
    req = start_login(c, did_of(load_key(a.start_as)) if a.start_as else did, c_ans)
    if a.sleep:
        time.sleep(a.sleep)
    idt, vpt, sub = build_tokens(a.case, key, did, vc, req, other_key, other_vc)
    state = req["state"]
    if a.case == "state-unknown":
        # well formed (the real state's expiry prefix, then fresh random
        # base64url of the right length), so that only its tag betrays it
        state = req["state"][:8] + b64u(os.urandom(64))[:len(req["state"]) - 8]
    if a.case == "state-later":
        # the real state with its expiry pushed to the far future: the tag
        # covers the expiry, so this is no state of ours
        state = "zzzzzzzz" + req["state"][8:]
    fields = [("id_token", idt), ("vp_token", vpt), ("presentation_submission", sub),
              ("state", state)]
    if a.case == "no-vp":
        fields = [("id_token", idt), ("state", state)]
    if a.case == "dup-field":
        fields.append(("state", state))
    if a.case == "unknown-field":
        fields.append(("foo", "bar"))
    body = urllib.parse.urlencode(fields)
    st, ct, out = c_ans.request("POST", path_of(req["response_uri"]), body,
                                "application/x-www-form-urlencoded")
    res = {"status": st, "body": out, "state": req["state"], "nonce": req["nonce"]}
    if a.replay or a.replay_url:
        # the same response again, to the same server or (--replay-url) to
        # another one sharing its database
        c2 = Client(a.replay_url) if a.replay_url else c_ans
        st2, ct2, out2 = c2.request("POST", path_of(req["response_uri"]), body,
                                    "application/x-www-form-urlencoded")
        res["replay"] = {"status": st2, "body": out2}
    print(json.dumps(res))


def cmd_post(a):
    c = Client(a.url)
    body = a.body
    if body is not None and body.startswith("@"):
        body = open(body[1:], "rb").read()
    elif body is not None:
        body = body.encode("latin-1")
    if a.repeat_body:
        body = (a.repeat_body[0] * int(a.repeat_body[1])).encode()
    if a.content_length is not None:
        # a lying Content-Length: raw socket, header only
        import socket
        s = socket.create_connection((c.host, c.port), timeout=10)
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                   % (a.method, a.path, a.ctype, a.content_length)).encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data) < 12:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        print(json.dumps({"status": int(head.split()[1]), "body": rest.decode("utf-8", "replace")}))
        return
    hdrs = {}
    if a.header:
        k, v = a.header.split(":", 1)
        hdrs[k] = v.strip()
    st, ct, out = c.request(a.method, a.path, body, a.ctype, hdrs)
    print(json.dumps({"status": st, "ctype": ct, "body": out}))


def cmd_db(a):
    db = sqlite3.connect(a.db, timeout=30)
    q = lambda sql, *p: db.execute(sql, p).fetchone()[0]
    # logins holds the answered logins (schema 3): a state's nonce is
    # consumed exactly when its row exists
    res = {"logins": q("SELECT count(*) FROM logins"),
           "used": q("SELECT count(*) FROM logins"),
           "tokens": q("SELECT count(*) FROM tokens"),
           "audit": q("SELECT count(*) FROM audit"),
           "clone": q("SELECT count(*) FROM audit WHERE event = 'clone'")}
    if a.state:
        row = db.execute("SELECT 1 FROM logins WHERE state = ?", (a.state,)).fetchone()
        res["state_used"] = 1 if row else 0
    print(json.dumps(res))


def main():
    p = argparse.ArgumentParser()
    sp = p.add_subparsers(dest="cmd", required=True)
    d = sp.add_parser("did")
    d.add_argument("key")
    v = sp.add_parser("vc")
    v.add_argument("--issuer-key", required=True)
    v.add_argument("--issuer", required=True)
    v.add_argument("--kid", required=True)
    v.add_argument("--device", required=True)
    v.add_argument("--serial", required=True)
    v.add_argument("--hardware", required=True)
    v.add_argument("--produced-by", default="did:web:example.com#line-1")
    v.add_argument("--date", default="2025-06-01")
    v.add_argument("--type", default="ProductionCredential")
    v.add_argument("--iat-offset", type=int, default=0)
    v.add_argument("--lifetime", type=int, default=10 * 365 * 86400)
    l = sp.add_parser("login")
    l.add_argument("--url", required=True)
    l.add_argument("--key", required=True)
    l.add_argument("--vc")
    l.add_argument("--case", default="ok")
    l.add_argument("--other-key")
    l.add_argument("--other-vc")
    l.add_argument("--replay", action="store_true")
    l.add_argument("--replay-url", help="post the replay to this server instead")
    l.add_argument("--answer-url", help="fetch the request object and post the response here")
    l.add_argument("--start-as", help="start the login as this key's DID")
    l.add_argument("--sleep", type=float, default=0)
    po = sp.add_parser("post")
    po.add_argument("--url", required=True)
    po.add_argument("--path", required=True)
    po.add_argument("--body")
    po.add_argument("--repeat-body", nargs=2)
    po.add_argument("--ctype", default="application/x-www-form-urlencoded")
    po.add_argument("--method", default="POST")
    po.add_argument("--header")
    po.add_argument("--content-length", type=int)
    b = sp.add_parser("db")
    b.add_argument("--db", required=True)
    b.add_argument("--state")
    a = p.parse_args()
    try:
        {"did": cmd_did, "vc": cmd_vc, "login": cmd_login, "post": cmd_post, "db": cmd_db}[a.cmd](a)
    except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
        # one JSON line the test can show, never a half-printed traceback
        print(json.dumps({"status": 0, "body": "", "helper_error": repr(e)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
