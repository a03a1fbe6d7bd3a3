/*
 * vouch/state.h - the device's persistent trust state, behind a small
 * porting interface (as MCUboot keeps its security counter), with a
 * file-backed implementation for Linux devices and tests.
 *
 * The state is: the anti-rollback floor (the securityVersion of the last
 * committed release), the version and image digest committed with it, and
 * the pinned trust policy (the exact signed bytes). A port must make each
 * write atomic and durable: after power loss a reader sees the old state or
 * the new one, never a mix. The file port writes a temporary file, fsyncs
 * it, renames it over the old one and fsyncs the directory.
 *
 * Rules the callers keep (and tests assert): the floor is raised only by a
 * commit after a successful install, never by a verify; a floor never goes
 * down (vouch_state_commit refuses with VOUCH_E_RELEASE_ROLLBACK).
 */
#ifndef VOUCH_STATE_H
#define VOUCH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "vouch/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOUCH_VERSION_MAX 64

typedef struct vouch_device_state {
    int64_t floor;                    /* 0 when nothing was ever committed */
    char version[VOUCH_VERSION_MAX];  /* committed version, "" if none */
    uint8_t digest[32];               /* committed image SHA-256 */
    int has_committed;
} vouch_device_state;

typedef struct vouch_state_port {
    void *ctx;
    /* Reads the state; a device that never committed gets a zeroed state. */
    vouch_code (*read)(void *ctx, vouch_device_state *st, vouch_err *err);
    /* Replaces the state atomically and durably. */
    vouch_code (*write)(void *ctx, const vouch_device_state *st, vouch_err *err);
    /* Reads the pinned policy; VOUCH_E_POLICY_MISSING when none is pinned.
     * *jws is vouch_malloc'd. */
    vouch_code (*read_policy)(void *ctx, char **jws, size_t *len, vouch_err *err);
    /* Pins a policy (atomically and durably). */
    vouch_code (*write_policy)(void *ctx, const char *jws, size_t len, vouch_err *err);
} vouch_state_port;

/*
 * The file port over directory dir (created 0700 if absent): files
 * "state.json" and "policy.jws". The port keeps a copy of dir; release it
 * with vouch_state_file_close. A state file that does not parse, or whose
 * fields are out of range, is VOUCH_E_STATE (never "no state").
 */
vouch_code vouch_state_file_open(const char *dir, vouch_state_port *port, vouch_err *err);
void vouch_state_file_close(vouch_state_port *port);

/* Raises the floor to security_version and records version and digest. */
vouch_code vouch_state_commit(const vouch_state_port *port, int64_t security_version,
                              const char *version, const uint8_t digest[32], vouch_err *err);

/*
 * Test hook for power-loss simulation (the MCUboot simulator's idea): the
 * file port calls fn(step, arg) at each step of every write, with step one
 * of "temp-written" (data written, not yet synced), "temp-synced" (synced,
 * not yet renamed) and "renamed" (renamed, directory not yet synced). When
 * fn returns non-zero the write stops right there, as if power was cut: no
 * cleanup runs and VOUCH_E_IO is returned. fn may also abort() or _exit()
 * the process. NULL removes the hook (the default). Not thread-safe; for
 * tests only.
 */
typedef int (*vouch_state_fault_fn)(const char *step, void *arg);
void vouch_state_file_set_fault(vouch_state_fault_fn fn, void *arg);

/* Serialization of a state, as the file port writes it (for tests and
 * tools): *out is vouch_malloc'd, NUL-terminated. */
vouch_code vouch_state_serialize(const vouch_device_state *st, char **out, size_t *len,
                                 vouch_err *err);
/* The strict inverse: anything but exactly what vouch_state_serialize
 * writes (members, types, ranges) is VOUCH_E_STATE. */
vouch_code vouch_state_parse(const char *text, size_t len, vouch_device_state *st,
                             vouch_err *err);

#ifdef __cplusplus
}
#endif
#endif
