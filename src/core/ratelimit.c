/*
 * ratelimit.c - the shared token bucket of include/tideline/ratelimit.h.
 *
 * How it works: the state is one "theoretical arrival time" (tat) on the monotonic
 * clock: the moment by which every token reserved so far will have been earned. A
 * request for n tokens at time now moves tat to max(tat, now) + n / per_sec and may
 * proceed at tat - burst / per_sec (the bucket holds `burst` tokens of credit). Times are
 * kept as whole nanoseconds plus a remainder in units of 1/per_sec ns, so no rounding
 * accumulates however many small requests are made.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "tideline/ratelimit.h"

#define NS 1000000000ull
#define SLICE_NS (100ull * 1000000ull)

/* A point on the clock: ns + frac / per_sec nanoseconds, 0 <= frac < per_sec. */
struct vtime {
	uint64_t ns, frac;
};

struct tl_rate {
	pthread_mutex_t mu;
	uint64_t per_sec;
	struct vtime tau; /* burst / per_sec as a duration */
	struct vtime tat;
	tl_rate_clock clock;
};

static uint64_t real_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void real_sleep(void *ctx, uint64_t ns)
{
	struct timespec ts;

	(void)ctx;
	ts.tv_sec = (time_t)(ns / NS);
	ts.tv_nsec = (long)(ns % NS);
	/* a signal ends the sleep early; the caller checks its stop flag and sleeps again */
	(void)nanosleep(&ts, NULL);
}

/* n tokens as a duration. per_sec <= 2^32 keeps (n % per_sec) * NS inside 64 bits. */
static struct vtime tokens(const tl_rate *r, uint64_t n)
{
	struct vtime d;
	uint64_t rem = (n % r->per_sec) * NS;

	d.ns = (n / r->per_sec) * NS + rem / r->per_sec;
	d.frac = rem % r->per_sec;
	return d;
}

static void vt_add(const tl_rate *r, struct vtime *t, struct vtime d)
{
	t->ns += d.ns;
	t->frac += d.frac;
	if (t->frac >= r->per_sec) {
		t->frac -= r->per_sec;
		t->ns++;
	}
}

/* t - d, or {0, 0} when d is larger. */
static struct vtime vt_sub(const tl_rate *r, struct vtime t, struct vtime d)
{
	struct vtime z = {0, 0};

	if (t.ns < d.ns || (t.ns == d.ns && t.frac < d.frac))
		return z;
	t.ns -= d.ns;
	if (t.frac < d.frac) {
		t.frac += r->per_sec - d.frac;
		t.ns--;
	} else {
		t.frac -= d.frac;
	}
	return t;
}

int tl_rate_new(tl_rate **out, uint64_t per_sec, uint64_t burst, const tl_rate_clock *clock, tl_error *err)
{
	tl_rate *r;

	*out = NULL;
	if (per_sec == 0 || per_sec > TL_RATE_MAX_PER_SEC)
		return tl_error_set(err, TL_ERR_CONFIG, "rate limit %llu per second is out of range (1 … %llu)",
				    (unsigned long long)per_sec, TL_RATE_MAX_PER_SEC);
	if (!(r = calloc(1, sizeof(*r))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	r->per_sec = per_sec;
	r->tau = tokens(r, burst ? burst : 1);
	if (clock && clock->now_ns && clock->sleep_ns) {
		r->clock = *clock;
	} else {
		r->clock.now_ns = real_now;
		r->clock.sleep_ns = real_sleep;
		r->clock.ctx = NULL;
	}
	r->tat.ns = r->clock.now_ns(r->clock.ctx); /* full bucket */
	*out = r;
	return 0;
}

void tl_rate_free(tl_rate *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

uint64_t tl_rate_reserve(tl_rate *r, uint64_t n)
{
	uint64_t now, wait;
	struct vtime allowed;

	if (!r || n == 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	now = r->clock.now_ns(r->clock.ctx);
	if (r->tat.ns < now) {
		r->tat.ns = now;
		r->tat.frac = 0;
	}
	vt_add(r, &r->tat, tokens(r, n));
	allowed = vt_sub(r, r->tat, r->tau);
	/* round a fractional nanosecond up: never early */
	wait = allowed.ns + (allowed.frac != 0);
	wait = wait > now ? wait - now : 0;
	pthread_mutex_unlock(&r->mu);
	return wait;
}

void tl_rate_refund(tl_rate *r, uint64_t n)
{
	if (!r || n == 0)
		return;
	pthread_mutex_lock(&r->mu);
	r->tat = vt_sub(r, r->tat, tokens(r, n));
	pthread_mutex_unlock(&r->mu);
}

int tl_rate_acquire(tl_rate *r, uint64_t n, volatile sig_atomic_t *stop, tl_error *err)
{
	uint64_t wait, until;

	if (!r || n == 0)
		return 0;
	wait = tl_rate_reserve(r, n);
	if (wait == 0)
		return 0;
	until = r->clock.now_ns(r->clock.ctx) + wait;
	for (;;) {
		uint64_t now = r->clock.now_ns(r->clock.ctx);

		if (stop && *stop)
			return tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while waiting for the rate limit");
		if (now >= until)
			return 0;
		r->clock.sleep_ns(r->clock.ctx, until - now < SLICE_NS ? until - now : SLICE_NS);
	}
}

uint64_t tl_rate_effective(uint64_t extractor_rps, uint64_t sinker_rps, uint64_t pipeline_rps)
{
	uint64_t v[3] = {extractor_rps, sinker_rps, pipeline_rps}, best = 0;
	int i;

	for (i = 0; i < 3; i++)
		if (v[i] && (!best || v[i] < best))
			best = v[i];
	return best;
}
