/*
 * claim_key.c - the name every task gives a claim on one target table (driver.h,
 * tl_claim_key), shared by the drivers so that two tasks on different hosts compute the
 * same lock for the same table. Pure: no I/O, no state.
 */
#include <string.h>
#include "tideline/driver.h"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	/* the terminating NUL is hashed too: ("ab", "c") and ("a", "bc") differ */
	do {
		h ^= *p;
		h *= 1099511628211ull;
	} while (*p++);
	return h;
}

uint64_t tl_claim_key(const char *db, const char *schema, const char *name)
{
	uint64_t h = 14695981039346656037ull;

	h = fnv1a(h, db);
	h = fnv1a(h, schema);
	return fnv1a(h, name);
}
