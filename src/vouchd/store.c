/* store.c - the store interface (vouchd.h) and the database URL forms:
 *   (none)                 S/vouchd.db (SQLite)
 *   sqlite:PATH            a SQLite file
 *   postgresql://...       PostgreSQL through libpq (also postgres://)
 * Both backends keep the same tables (docs/server.md) and answer with the
 * same codes, so login.c never knows which one it talks to. */
#include <string.h>

#include "vouchd/vouchd.h"

vouch_code vd_store_open(const char *dir, const char *url, int create, vd_store **out,
                         vouch_err *err)
{
    char path[VD_PATH_MAX];
    vouch_code rc;

    *out = NULL;
    if (!url) {
        if ((rc = vd_path(dir, "vouchd.db", path, sizeof(path), err)) != VOUCH_OK)
            return rc;
        return vd_store_sqlite_open(path, create, out, err);
    }
    if (strlen(url) >= VD_DB_URL_MAX)
        return vouch_err_set(err, VOUCH_E_USAGE, "--db: URL too long");
    if (strncmp(url, "sqlite:", 7) == 0) {
        if (!url[7])
            return vouch_err_set(err, VOUCH_E_USAGE, "--db sqlite:PATH needs a path");
        return vd_store_sqlite_open(url + 7, create, out, err);
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return vd_store_pg_open(url, create, out, err);
    return vouch_err_set(err, VOUCH_E_USAGE,
                         "--db: expected sqlite:PATH or postgresql://... (a libpq URI)");
}

void vd_store_close(vd_store *s)
{
    if (s)
        s->ops->close(s);
}
