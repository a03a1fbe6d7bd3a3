/*
 * sqlu.h - the SQLite plumbing vouchd and vouch-cosignd share: prepared
 * statements run with bound parameters only, and failures reported as
 * VOUCH_E_DB with SQLite's own message (never a bound value).
 *
 * Every function takes the connection or statement it works on; none keeps
 * state. Not thread-safe beyond what the caller's connection allows (each
 * caller holds its own lock around a connection).
 */
#ifndef VOUCH_SQLU_H
#define VOUCH_SQLU_H
#include <stddef.h>

#include <sqlite3.h>

#include "vouch/vouch.h"

/* VOUCH_E_DB: "database: <what>: <SQLite's message for h>" (h may be NULL:
 * "cannot open"). */
vouch_code sqlu_fail(sqlite3 *h, const char *what, vouch_err *err);

/* st reset and its bindings cleared, ready to bind and step; returns st. */
sqlite3_stmt *sqlu_fresh(sqlite3_stmt *st);

/* Binds s as text, or NULL when s is NULL; SQLite's result code. */
int sqlu_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Steps a statement that returns no rows and resets it. *changes (may be
 * NULL) gets the rows it changed. VOUCH_E_DB (sqlu_fail) unless it ran to
 * SQLITE_DONE. */
vouch_code sqlu_run(sqlite3 *h, sqlite3_stmt *st, const char *what, int *changes,
                    vouch_err *err);

/* Column col of the current row as text into out (cap >= 1), cut to cap-1
 * bytes; "" for NULL. */
void sqlu_copy_text(sqlite3_stmt *st, int col, char *out, size_t cap);

#endif
