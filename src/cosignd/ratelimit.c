/* ratelimit.c - one token bucket per build server, in memory.
 *
 * Only authenticated, allowed build servers reach the limiter, so the table
 * is bounded by the allow list; it is capped anyway (RATE_SLOTS), and when
 * full the bucket idle longest is reused (an idle bucket is full, so
 * forgetting it changes nothing). Buckets start full after a restart. */
#include <string.h>

#include "cosignd/cosignd.h"

#define RATE_SLOTS 1024u

typedef struct rate_slot {
    char key[VOUCH_DID_MAX + 1];
    double tokens;
    int64_t last_ms;
    int used;
} rate_slot;

struct cosignd_rate {
    double burst;
    double per_ms;
    rate_slot slots[RATE_SLOTS];
};

vouch_code cosignd_rate_new(int64_t burst, int64_t per_minute, cosignd_rate **out,
                            vouch_err *err)
{
    cosignd_rate *r;

    *out = NULL;
    if (burst < 1 || per_minute < 1)
        return vouch_err_set(err, VOUCH_E_ARG, "rate limits must be positive");
    r = vouch_calloc(1, sizeof(*r));
    if (!r)
        return vouch_err_set(err, VOUCH_E_NOMEM, "out of memory for the rate limiter");
    r->burst = (double)burst;
    r->per_ms = (double)per_minute / 60000.0;
    *out = r;
    return VOUCH_OK;
}

void cosignd_rate_free(cosignd_rate *r) { vouch_free(r); }

int cosignd_rate_take(cosignd_rate *r, const char *key, int64_t now_ms)
{
    rate_slot *s = NULL, *oldest = NULL;
    size_t i;

    if (strlen(key) > VOUCH_DID_MAX)
        return 0;
    for (i = 0; i < RATE_SLOTS; i++) {
        rate_slot *c = &r->slots[i];
        if (c->used && strcmp(c->key, key) == 0) {
            s = c;
            break;
        }
        if (!oldest || !c->used || (oldest->used && c->last_ms < oldest->last_ms))
            oldest = c;
    }
    if (!s) {
        s = oldest;
        memset(s, 0, sizeof(*s));
        strcpy(s->key, key); /* length checked above */
        s->used = 1;
        s->tokens = r->burst;
        s->last_ms = now_ms;
    }
    if (now_ms > s->last_ms) {
        s->tokens += (double)(now_ms - s->last_ms) * r->per_ms;
        if (s->tokens > r->burst)
            s->tokens = r->burst;
        s->last_ms = now_ms;
    }
    if (s->tokens < 1.0)
        return 0;
    s->tokens -= 1.0;
    return 1;
}
