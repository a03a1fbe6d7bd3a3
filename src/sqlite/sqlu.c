/* sqlu.c - see sqlu.h. */
#include <string.h>

#include "sqlite/sqlu.h"

vouch_code sqlu_fail(sqlite3 *h, const char *what, vouch_err *err)
{
    return vouch_err_set(err, VOUCH_E_DB, "database: %s: %s", what,
                         h ? sqlite3_errmsg(h) : "cannot open");
}

sqlite3_stmt *sqlu_fresh(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

int sqlu_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

vouch_code sqlu_run(sqlite3 *h, sqlite3_stmt *st, const char *what, int *changes,
                    vouch_err *err)
{
    int r = sqlite3_step(st);

    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return sqlu_fail(h, what, err);
    if (changes)
        *changes = sqlite3_changes(h);
    return VOUCH_OK;
}

void sqlu_copy_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}
