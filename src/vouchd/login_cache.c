/* login_cache.c - the logins this process started, kept beside the store so
 * that its own GET /auth/request and POST /auth/response need no database
 * read (two of a login's four transactions).
 *
 * Safe because what is cached never changes after POST /auth/siop: the
 * state, nonce, DID and times of a login row. The one field that does
 * change, `used`, stays the store's to decide: the nonce is consumed only
 * by login_finish's conditional UPDATE, in one transaction, whatever the
 * cache says. The cache's own used mark just lets this process refuse a
 * replay before spending signature checks on it, as the database read did.
 * A login started on another server, or pushed out of the cache by newer
 * ones, is read from the store as before.
 *
 * A fixed table of slots indexed by the state's random part (128 random
 * bits: no attacker can aim at a slot), each slot under one of a few
 * locks; a new login overwrites whatever was in its slot. */
#include <string.h>

#include "vouchd/vouchd.h"

#define SLOTS 8192u /* a power of two; ~2.6 MiB */
#define LOCKS 64u

typedef struct slot {
    vd_login_row row;
    int full;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t locks[LOCKS];
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

static void locks_init(void)
{
    for (unsigned i = 0; i < LOCKS; i++)
        pthread_mutex_init(&locks[i], NULL);
}

/* The slot of a state: the first 6 characters of its random part (36
 * random bits; the expiry prefix before it is not random). */
static unsigned slot_of(const char *state)
{
    uint32_t h = 2166136261u;

    if (strnlen(state, VD_EXP_LEN + 1) <= VD_EXP_LEN)
        return 0;
    state += VD_EXP_LEN;
    for (int i = 0; i < 6 && state[i]; i++)
        h = (h ^ (uint8_t)state[i]) * 16777619u;
    return h & (SLOTS - 1);
}

static pthread_mutex_t *lock_of(unsigned i)
{
    pthread_once(&locks_once, locks_init);
    return &locks[i % LOCKS];
}

/* The state is compared in constant time: a slot holds someone else's live
 * login, and the comparison must not tell how much of a guess was right. */
static int same_state(const slot *sl, const char *state)
{
    return sl->full && strlen(state) == VD_STATE_LEN &&
           vouch_ct_equal(sl->row.state, state, VD_STATE_LEN);
}

void vd_login_cache_put(const vd_login_row *row)
{
    unsigned i = slot_of(row->state);
    pthread_mutex_t *m = lock_of(i);

    pthread_mutex_lock(m);
    slots[i].row = *row;
    slots[i].full = 1;
    pthread_mutex_unlock(m);
}

int vd_login_cache_get(const char *state, vd_login_row *row)
{
    unsigned i = slot_of(state);
    pthread_mutex_t *m = lock_of(i);
    int hit;

    pthread_mutex_lock(m);
    hit = same_state(&slots[i], state);
    if (hit)
        *row = slots[i].row;
    pthread_mutex_unlock(m);
    return hit;
}

void vd_login_cache_used(const char *state)
{
    unsigned i = slot_of(state);
    pthread_mutex_t *m = lock_of(i);

    pthread_mutex_lock(m);
    if (same_state(&slots[i], state))
        slots[i].row.used = 1;
    pthread_mutex_unlock(m);
}
