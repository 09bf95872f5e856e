/*
 * ratelimit.h - one rate limit shared by every worker of a run: [extractor] max_rps,
 * [sinker] max_rps, [pipeline] max_rps (rows per second) and max_mbps (bytes per second).
 *
 * A token bucket in its virtual-scheduling form (GCRA): tokens accrue at `per_sec` up to
 * `burst`, a request for n tokens reserves them at once (under a mutex) and is told how
 * long to wait before using them, so concurrent workers are served in arrival order and
 * over any interval of length W at most burst + per_sec × W tokens are granted, whatever
 * the number of workers. The bucket starts full. With burst = one batch, a source never
 * sees more than one batch beyond the configured rate. A request larger than the burst
 * is allowed; it waits for its excess.
 *
 * The clock is injectable (tl_rate_clock) so tests can simulate hours in microseconds;
 * NULL means CLOCK_MONOTONIC and nanosleep. All calls are thread-safe.
 */
#ifndef TL_RATELIMIT_H
#define TL_RATELIMIT_H

#include <signal.h>
#include <stdint.h>
#include "tideline/error.h"

typedef struct tl_rate tl_rate;

typedef struct tl_rate_clock {
	uint64_t (*now_ns)(void *ctx);          /* monotonic nanoseconds */
	void (*sleep_ns)(void *ctx, uint64_t ns); /* may return early (a signal): the caller re-checks */
	void *ctx;
} tl_rate_clock;

/* Largest rate accepted: ape-dts' max_rps is a u32 and max_mbps is capped to fit one too. */
#define TL_RATE_MAX_PER_SEC 4294967295ull

/*
 * per_sec in [1, TL_RATE_MAX_PER_SEC]; burst >= 1 (tokens granted at once when the
 * bucket is full). The clock struct is copied. TL_ERR_CONFIG for a bad rate.
 */
int tl_rate_new(tl_rate **out, uint64_t per_sec, uint64_t burst, const tl_rate_clock *clock, tl_error *err) TL_MUST_CHECK;
void tl_rate_free(tl_rate *r); /* accepts NULL */

/* Reserves n tokens; returns the nanoseconds to wait before using them (0: now). Never blocks. */
uint64_t tl_rate_reserve(tl_rate *r, uint64_t n);
/* Gives back n tokens of an earlier reservation that were not used (e.g. a short last batch). */
void tl_rate_refund(tl_rate *r, uint64_t n);
/*
 * Reserves n tokens and sleeps until they may be used, in slices of at most 100 ms,
 * returning TL_ERR_INTERRUPTED ("stopped while waiting for the rate limit") as soon as
 * *stop is set (stop may be NULL). r NULL or n 0: returns at once.
 */
int tl_rate_acquire(tl_rate *r, uint64_t n, volatile sig_atomic_t *stop, tl_error *err) TL_MUST_CHECK;

/*
 * The rows-per-second limit of a run from the three keys (0 = not set): the smallest
 * one that is set, 0 when none is. Rows pass through the extractor and the sinker one
 * after the other, so the tightest of the limits is the one that holds.
 */
uint64_t tl_rate_effective(uint64_t extractor_rps, uint64_t sinker_rps, uint64_t pipeline_rps);

#endif
