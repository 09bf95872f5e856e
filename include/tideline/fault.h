/*
 * fault.h - debug hooks for tests: crash points and injected driver failures.
 *
 * A tl_fault is parsed once from two spec strings, which the CLI takes from the
 * environment (TL_DEBUG_CRASH, TL_DEBUG_FAIL) when a command starts; it is then passed
 * down as an object owned by the command (tl_migrate_opts.fault) and never read from the
 * environment again. One object is shared by every thread of a run: the specs do not
 * change after parsing and every counter is atomic.
 *
 *   TL_DEBUG_CRASH=POINT[:N]   the process SIGKILLs itself the N-th time (default 1) the
 *       run passes POINT: after_target_commit (a batch committed on the target, its
 *       position not yet recorded), after_store_commit (a position in the store, not yet
 *       in position.log), after_store_finished (a finished record in the store, not yet in
 *       finished.log).
 *   TL_DEBUG_FAIL=SLOT:N[:ERROR[:after]][,SLOT:N…]   the N-th call of driver slot SLOT
 *       (write_batch, read_batch, connect, … the struct tl_driver_ops field names; counted
 *       over the whole process, every connection) fails with ERROR instead of reaching
 *       the driver. ERROR is a code name of tl_code_name() ("db" when omitted, "io",
 *       "mismatch", …) or "transient": TL_ERR_DB with SQLSTATE 08006 (connection failure)
 *       and the flags TL_ERRF_TRANSIENT and TL_ERRF_CONN_LOST, what a lost connection looks
 *       like (error.h). With ":after" the driver is called first and the call fails only
 *       if the driver succeeded: the work is done but the caller sees an error (a commit
 *       whose outcome is unknown; a transient write_batch fault then also carries
 *       TL_ERRF_COMMIT_UNKNOWN).
 * The calls are counted in the driver-call wrappers (driver_call.h), so the failures hit
 * real drivers exactly where the engine would see a server's error.
 */
#ifndef TL_FAULT_H
#define TL_FAULT_H

#include "tideline/driver_call.h"
#include "tideline/error.h"

typedef struct tl_fault tl_fault;

/*
 * Parses the two specs (either may be NULL or empty). *out is NULL when both are empty
 * (no hooks), else the caller's (tl_fault_free). A bad spec is TL_ERR_USAGE naming the
 * variable, the spec and what is wrong.
 */
int tl_fault_new(tl_fault **out, const char *crash_spec, const char *fail_spec, tl_error *err) TL_MUST_CHECK;
void tl_fault_free(tl_fault *f);

/* Passing crash point `point` (f may be NULL): SIGKILLs the process when its count is up. */
void tl_fault_crash_point(tl_fault *f, const char *point);

/*
 * Around a driver call of `slot` (f may be NULL): tl_fault_before returns a negative code
 * with err set when this call is to fail before the driver runs; tl_fault_after, given
 * the driver's result rc, returns rc or, for an ":after" fault of this call, the injected
 * error.
 */
int tl_fault_before(tl_fault *f, enum tl_slot slot, tl_error *err);
int tl_fault_after(tl_fault *f, enum tl_slot slot, int rc, tl_error *err);

#endif
