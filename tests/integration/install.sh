#!/usr/bin/env bash
# install.sh - `cmake --install` gives a user what the README promises: the
# public headers under include/vouch/, libvouch (shared and static), vouch.pc
# for pkg-config, and the programs; and a program built only from the
# installed tree (pkg-config, no source paths) runs against it.
set -euo pipefail
BUILD=${VOUCH_BUILD_DIR:?run through ctest}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi; }

cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
P=$T/prefix
LIBDIR=$(dirname "$(find "$P" -name vouch.pc | head -n1)")/..
for h in vouch error mem codec json key did jws vc policy state release cosign siop; do
  check "header vouch/$h.h installed" test -f "$P/include/vouch/$h.h"
done
check "libvouch.a installed" test -f "$LIBDIR/libvouch.a"
check "libvouch.so installed" test -e "$LIBDIR/libvouch.so"
for b in vouch vouch-cosignd vouch-verify vouchd vouch-agent; do
  check "program $b installed" test -x "$P/bin/$b"
done
check "installed vouch runs" "$P/bin/vouch" --version

cat > "$T/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vouch/vouch.h>
int main(void)
{
    vouch_key *k = NULL;
    char *jws = NULL, *did = NULL;
    uint8_t *out = NULL;
    size_t n = 0;
    vouch_err e;
    int ok = vouch_key_generate(VOUCH_KEY_ED25519, &k, &e) == VOUCH_OK &&
             vouch_did_key_encode(k, &did, &e) == VOUCH_OK &&
             vouch_jws_sign_compact(k, NULL, (const uint8_t *)"hi", 2, &jws, &e) == VOUCH_OK &&
             vouch_jws_verify_compact(jws, strlen(jws), k, NULL, &out, &n, &e) == VOUCH_OK &&
             n == 2 && memcmp(out, "hi", 2) == 0;
    printf("%s %s\n", ok ? "ok" : e.msg, did ? did : "");
    vouch_free(out);
    vouch_free(jws);
    vouch_free(did);
    vouch_key_free(k);
    return ok ? 0 : 1;
}
C
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
check "pkg-config knows vouch" pkg-config --exists vouch
# shared: link against the installed .so and run with the installed tree only
check "a program builds from the installed tree (shared)" \
  sh -c "cc -std=c11 ${VOUCH_EXTRA_CFLAGS:-} -o '$T/hello' '$T/hello.c' \$(pkg-config --cflags --libs vouch)"
check "and runs against the installed libvouch.so" env LD_LIBRARY_PATH="$LIBDIR" "$T/hello"
# static: pkg-config --static pulls OpenSSL and jansson in
check "a program builds from the installed tree (static)" \
  sh -c "cc -std=c11 ${VOUCH_EXTRA_CFLAGS:-} -o '$T/hello-static' '$T/hello.c' '$LIBDIR/libvouch.a' \$(pkg-config --static --cflags --libs vouch | sed 's/-lvouch//')"
check "and runs" "$T/hello-static"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
