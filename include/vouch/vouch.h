/*
 * vouch/vouch.h - the whole public API of libvouch in one include.
 * Each module's header states its own contract; start with error.h and mem.h.
 */
#ifndef VOUCH_VOUCH_H
#define VOUCH_VOUCH_H

#include "vouch/error.h"
#include "vouch/mem.h"
#include "vouch/codec.h"
#include "vouch/json.h"
#include "vouch/key.h"
#include "vouch/did.h"
#include "vouch/jws.h"

#define VOUCH_VERSION "0.1.0"

#endif
