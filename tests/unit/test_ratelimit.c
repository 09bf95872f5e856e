/*
 * test_ratelimit.c - the shared rate limit: a simulated clock drives several workers for
 * 20 s and the rows granted stay within ±10 % of the rate (in fact within one burst), at
 * rates above and below the batch size, with short last batches refunded; idle time
 * never buys more than one burst; fractional rates do not drift over a million
 * requests; a stop flag ends a wait at once; four real threads hold the rate for 3 s.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "tideline/ratelimit.h"
#include "tl_test.h"

#define NS 1000000000ull

/* A clock that only moves when told to. */
struct sim {
	uint64_t now;
	uint64_t slept;  /* total asked to sleep */
	volatile sig_atomic_t *stop_after_sleep;
};

static uint64_t sim_now(void *ctx)
{
	return ((struct sim *)ctx)->now;
}

static void sim_sleep(void *ctx, uint64_t ns)
{
	struct sim *s = ctx;

	s->now += ns;
	s->slept += ns;
	if (s->stop_after_sleep)
		*s->stop_after_sleep = 1;
}

/*
 * Runs `workers` simulated workers for `secs` seconds: each reserves one batch, waits,
 * and works `work_ns` before the next. Rows count when their wait ends within the run.
 * last_batch_rows > 0: every 10th batch returns only that many rows, the rest refunded.
 */
static uint64_t simulate(uint64_t per_sec, uint64_t burst, uint64_t batch, int workers, uint64_t secs,
			 uint64_t work_ns, uint64_t short_rows)
{
	struct sim s = {1000 * NS, 0, NULL};
	tl_rate_clock clk = {sim_now, sim_sleep, &s};
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;
	uint64_t ready[16], end = s.now + secs * NS, rows = 0, n = 0;
	int i;

	if (tl_rate_new(&r, per_sec, burst, &clk, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "tl_rate_new: %s", err.message);
		return 0;
	}
	for (i = 0; i < workers; i++)
		ready[i] = s.now;
	for (;;) {
		int w = 0;
		uint64_t wait;

		for (i = 1; i < workers; i++)
			if (ready[i] < ready[w])
				w = i;
		if (ready[w] >= end)
			break;
		s.now = ready[w];
		wait = tl_rate_reserve(r, batch);
		if (short_rows && ++n % 10 == 0) {
			tl_rate_refund(r, batch - short_rows);
			if (s.now + wait < end)
				rows += short_rows;
		} else if (s.now + wait < end) {
			rows += batch;
		}
		ready[w] = s.now + wait + work_ns;
	}
	tl_rate_free(r);
	return rows;
}

static void check_within(uint64_t got, uint64_t want, double tol, uint64_t hard_max, int line)
{
	double dev = ((double)got - (double)want) / (double)want;

	if (dev > tol || dev < -tol)
		tl_test_fail(__FILE__, line, "%llu rows, expected %llu ±%.0f %% (%.2f %%)", (unsigned long long)got,
			     (unsigned long long)want, tol * 100, dev * 100);
	if (got > hard_max)
		tl_test_fail(__FILE__, line, "%llu rows, more than the bound %llu", (unsigned long long)got,
			     (unsigned long long)hard_max);
	printf("    %llu rows for %llu expected (%+.2f %%)\n", (unsigned long long)got, (unsigned long long)want, dev * 100);
}

TL_TEST(simulated_20s_fast_workers)
{
	/* 4 workers that could each do 200k rows/s; limit 5000 rows/s, batches of 1000 */
	uint64_t rows = simulate(5000, 1000, 1000, 4, 20, 5 * 1000000ull, 0);

	check_within(rows, 5000 * 20, 0.10, 5000 * 20 + 1000, __LINE__);
}

TL_TEST(simulated_20s_rate_below_batch)
{
	/* 100 rows/s with the batch capped to one second's worth (the wiring's rule) */
	uint64_t rows = simulate(100, 100, 100, 3, 20, 1000000ull, 0);

	check_within(rows, 100 * 20, 0.10, 100 * 20 + 100, __LINE__);
}

TL_TEST(simulated_20s_short_batches_refunded)
{
	/* every 10th batch returns 10 of 500 rows: the unused tokens go back */
	uint64_t rows = simulate(20000, 500, 500, 8, 20, 100000ull, 10);

	check_within(rows, 20000 * 20, 0.10, 20000 * 20 + 500, __LINE__);
}

TL_TEST(simulated_slow_workers_are_not_limited)
{
	/* one worker doing 1000 rows/s under a 5000 rows/s limit: never waits */
	uint64_t rows = simulate(5000, 1000, 100, 1, 20, 100000000ull, 0);

	TL_CHECK_EQ_INT(rows, 20 * 10 * 100);
}

TL_TEST(idle_time_buys_one_burst_only)
{
	struct sim s = {NS, 0, NULL};
	tl_rate_clock clk = {sim_now, sim_sleep, &s};
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_rate_new(&r, 1000, 200, &clk, &err), &err);
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 200), 0);           /* full bucket */
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 100), 100000000);   /* 100 rows at 1000/s */
	s.now += 3600 * NS;                                     /* an hour idle */
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 200), 0);
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 1), 1000000);
	/* a request larger than the burst waits for its excess */
	s.now += 3600 * NS;
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 1200), NS);
	TL_CHECK_EQ_INT(tl_rate_reserve(NULL, 5), 0);
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 0), 0);
	tl_rate_free(r);
}

TL_TEST(fractional_rate_does_not_drift)
{
	/* 3 per second, one at a time, a million times: the millionth waits exactly 1e6/3 s */
	struct sim s = {0, 0, NULL};
	tl_rate_clock clk = {sim_now, sim_sleep, &s};
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;
	uint64_t i, last = 0;

	TL_CHECK_OK(tl_rate_new(&r, 3, 1, &clk, &err), &err);
	for (i = 0; i < 1000000; i++)
		last = tl_rate_reserve(r, 1);
	/* tokens 2 … 1e6 are owed: (1e6 - 1) / 3 s, rounded up to the nanosecond */
	TL_CHECK_EQ_INT(last, (999999ull * NS + 2) / 3);
	tl_rate_free(r);
}

TL_TEST(stop_ends_the_wait)
{
	volatile sig_atomic_t stop = 0;
	struct sim s = {0, 0, &stop};
	tl_rate_clock clk = {sim_now, sim_sleep, &s};
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_rate_new(&r, 10, 10, &clk, &err), &err);
	TL_CHECK_OK(tl_rate_acquire(r, 10, &stop, &err), &err); /* the burst: no sleep */
	TL_CHECK_EQ_INT(s.slept, 0);
	TL_CHECK_EQ_INT(tl_rate_acquire(r, 100, &stop, &err), TL_ERR_INTERRUPTED); /* owes 10 s */
	TL_CHECK_EQ_STR(err.message, "stopped while waiting for the rate limit");
	TL_CHECK_EQ_INT(s.slept, 100000000); /* one 100 ms slice, then the flag */
	s.stop_after_sleep = NULL;
	stop = 0;
	/* the stopped request keeps its reservation: the next one waits behind it (10 s more) */
	TL_CHECK_OK(tl_rate_acquire(r, 1, &stop, &err), &err);
	TL_CHECK_EQ_INT(s.slept, 10 * NS + 100000000);
	TL_CHECK_OK(tl_rate_acquire(NULL, 1, &stop, &err), &err);
	tl_rate_free(r);
}

TL_TEST(config_and_effective)
{
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_EQ_INT(tl_rate_new(&r, 0, 1, NULL, &err), TL_ERR_CONFIG);
	TL_CHECK(r == NULL);
	TL_CHECK_EQ_INT(tl_rate_new(&r, TL_RATE_MAX_PER_SEC + 1, 1, NULL, &err), TL_ERR_CONFIG);
	TL_CHECK_OK(tl_rate_new(&r, TL_RATE_MAX_PER_SEC, 1ull << 40, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_rate_reserve(r, 1ull << 40), 0);
	tl_rate_free(r);
	tl_rate_free(NULL);
	TL_CHECK_EQ_INT(tl_rate_effective(0, 0, 0), 0);
	TL_CHECK_EQ_INT(tl_rate_effective(500, 0, 0), 500);
	TL_CHECK_EQ_INT(tl_rate_effective(0, 300, 900), 300);
	TL_CHECK_EQ_INT(tl_rate_effective(1000, 2000, 10), 10);
}

/* ---- real time ------------------------------------------------------------------------ */

struct rt {
	tl_rate *r;
	uint64_t until;
	uint64_t rows;
	int failed;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void *rt_worker(void *arg)
{
	struct rt *w = arg;
	tl_error err = TL_ERROR_INIT;

	while (mono_ns() < w->until) {
		if (tl_rate_acquire(w->r, 50, NULL, &err) != 0) {
			w->failed = 1;
			break;
		}
		if (mono_ns() <= w->until)
			w->rows += 50;
	}
	return NULL;
}

TL_TEST(real_threads_3s)
{
	enum { THREADS = 4 };
	pthread_t th[THREADS];
	struct rt w[THREADS];
	tl_rate *r = NULL;
	tl_error err = TL_ERROR_INIT;
	uint64_t start, total = 0;
	int i;

	TL_CHECK_OK(tl_rate_new(&r, 2000, 100, NULL, &err), &err);
	start = mono_ns();
	for (i = 0; i < THREADS; i++) {
		w[i].r = r;
		w[i].until = start + 3 * NS;
		w[i].rows = 0;
		w[i].failed = 0;
		pthread_create(&th[i], NULL, rt_worker, &w[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		TL_CHECK_EQ_INT(w[i].failed, 0);
		total += w[i].rows;
	}
	tl_rate_free(r);
	/* 2000/s over 3 s plus the one burst of 100 */
	check_within(total, 6000, 0.10, 6000 + 100 + 50 * THREADS, __LINE__);
}
