/* metrics.c - vouchd's counters (process-wide, atomic) and their Prometheus
 * text exposition for GET /metrics. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "vouchd/vouchd.h"

static atomic_ullong counters[VD_M__COUNT];
static atomic_ullong refused_by_code[VOUCH__CODE_MAX + 1];

static const struct {
    const char *name;
    const char *help;
} counter_info[VD_M__COUNT] = {
    [VD_M_REQUESTS] = {"vouchd_http_requests_total", "HTTP requests answered"},
    [VD_M_LOGIN_STARTED] = {"vouchd_logins_started_total", "logins started (POST /auth/siop)"},
    [VD_M_LOGIN_OK] = {"vouchd_logins_total", "logins that issued an access token"},
    [VD_M_LOGIN_REFUSED] = {"vouchd_logins_refused_total", "login responses refused"},
    [VD_M_CLONE] = {"vouchd_clone_signals_total",
                    "logins of a device key that already had a live session"},
    [VD_M_TOKEN_OK] = {"vouchd_api_token_accepted_total", "device API calls with a valid token"},
    [VD_M_TOKEN_REFUSED] = {"vouchd_api_token_refused_total",
                            "device API calls refused for the token"},
};

void vd_metric_inc(vd_counter c)
{
    if ((unsigned)c < VD_M__COUNT)
        atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

void vd_metric_refused(vouch_code code)
{
    vd_metric_inc(VD_M_LOGIN_REFUSED);
    if ((unsigned)code <= VOUCH__CODE_MAX)
        atomic_fetch_add_explicit(&refused_by_code[code], 1, memory_order_relaxed);
}

vouch_code vd_metrics_text(vd_store *st, char **out, size_t *len, vouch_err *err)
{
    vouch_buf b;
    int64_t logins = 0, tokens = 0, audit = 0;
    vouch_code rc;

    *out = NULL;
    *len = 0;
    vouch_buf_init(&b, 256u * 1024u);
    for (int i = 0; i < VD_M__COUNT; i++)
        if ((rc = vouch_buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
                                   counter_info[i].name, counter_info[i].help,
                                   counter_info[i].name, counter_info[i].name,
                                   (unsigned long long)atomic_load(&counters[i]))) != VOUCH_OK)
            goto out;
    if ((rc = vouch_buf_append_str(&b, "# HELP vouchd_login_refusals_total login refusals by "
                                       "error\n# TYPE vouchd_login_refusals_total counter\n")) !=
        VOUCH_OK)
        goto out;
    for (unsigned c = 0; c <= VOUCH__CODE_MAX; c++) {
        unsigned long long n = atomic_load(&refused_by_code[c]);
        if (n && (rc = vouch_buf_printf(&b, "vouchd_login_refusals_total{error=\"%s\"} %llu\n",
                                        vouch_code_name((vouch_code)c), n)) != VOUCH_OK)
            goto out;
    }
    if (st && st->ops->counts(st, &logins, &tokens, &audit, NULL) == VOUCH_OK &&
        (rc = vouch_buf_printf(&b,
                               "# HELP vouchd_db_rows rows in the database tables\n"
                               "# TYPE vouchd_db_rows gauge\n"
                               "vouchd_db_rows{table=\"logins\"} %lld\n"
                               "vouchd_db_rows{table=\"tokens\"} %lld\n"
                               "vouchd_db_rows{table=\"audit\"} %lld\n",
                               (long long)logins, (long long)tokens, (long long)audit)) !=
            VOUCH_OK)
        goto out;
    *out = (char *)vouch_buf_take(&b, len);
    rc = *out ? VOUCH_OK : vouch_err_set(err, VOUCH_E_NOMEM, "metrics: out of memory");
out:
    vouch_buf_free(&b);
    if (rc != VOUCH_OK && rc != VOUCH_E_NOMEM)
        vouch_err_set(err, rc, "metrics: cannot format");
    return rc;
}
