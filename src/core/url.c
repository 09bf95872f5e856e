/*
 * url.c - splitting database URLs (scheme://user:pass@host:port/path?query), their
 * query parameters and ssl_mode spellings, and redacting their passwords for logs and
 * error messages. User, password and parameters are percent-decoded. Used by the MySQL
 * and PostgreSQL connectors; mongo-c-driver parses its own URIs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tideline/driver.h"

void tl_url_clear(tl_url *u)
{
	if (!u)
		return;
	free(u->scheme);
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->path);
	free(u->query);
	memset(u, 0, sizeof(*u));
}

static int hexv(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n); with plus, '+' becomes a space (query strings). */
static char *decode(const char *s, size_t n, int plus)
{
	char *out = malloc(n + 1);
	size_t i, j = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			out[j++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			out[j++] = ' ';
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

static char *pct_decode(const char *s, size_t n)
{
	return decode(s, n, 0);
}

int tl_url_parse(const char *url, tl_url *out, tl_error *err)
{
	const char *p, *rest, *at, *hostend, *colon;
	memset(out, 0, sizeof(*out));

	if (!url || !*url)
		return tl_error_set(err, TL_ERR_CONFIG, "empty url");
	p = strstr(url, "://");
	if (!p)
		return tl_error_set(err, TL_ERR_CONFIG, "url has no scheme (expected scheme://host)");
	out->scheme = tl_strndup(url, (size_t)(p - url));
	rest = p + 3;
	hostend = rest + strcspn(rest, "/?");
	/* user info: up to the last '@' before the path */
	at = NULL;
	for (p = rest; p < hostend; p++)
		if (*p == '@')
			at = p;
	if (at) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon) {
			out->user = pct_decode(rest, (size_t)(colon - rest));
			out->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		} else {
			out->user = pct_decode(rest, (size_t)(at - rest));
		}
		rest = at + 1;
	}
	/* host[:port], IPv6 in brackets */
	if (*rest == '[') {
		const char *rb = memchr(rest, ']', (size_t)(hostend - rest));
		if (!rb)
			goto bad;
		out->host = tl_strndup(rest + 1, (size_t)(rb - rest - 1));
		colon = (rb + 1 < hostend && rb[1] == ':') ? rb + 1 : NULL;
	} else {
		colon = memchr(rest, ':', (size_t)(hostend - rest));
		out->host = tl_strndup(rest, (size_t)((colon ? colon : hostend) - rest));
	}
	if (colon) {
		char *end = NULL;
		long port = strtol(colon + 1, &end, 10);
		if (end != hostend || port <= 0 || port > 65535)
			goto bad;
		out->port = (int)port;
	}
	if (!out->host || !*out->host) {
		tl_url_clear(out);
		return tl_error_set(err, TL_ERR_CONFIG, "url has no host");
	}
	if (*hostend == '/') {
		const char *q = strchr(hostend, '?');
		size_t n = q ? (size_t)(q - hostend - 1) : strlen(hostend + 1);
		out->path = pct_decode(hostend + 1, n);
		if (q)
			out->query = tl_strdup(q + 1);
	} else if (*hostend == '?') {
		out->query = tl_strdup(hostend + 1);
	}
	if (!out->scheme || (out->path == NULL && *hostend == '/'))
		goto nomem;
	return 0;
bad:
	tl_url_clear(out);
	return tl_error_set(err, TL_ERR_CONFIG, "malformed url (expected scheme://user:password@host:port)");
nomem:
	tl_url_clear(out);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory parsing url");
}

int tl_url_redact(const char *url, tl_buf *out, tl_error *err)
{
	const char *p = url ? strstr(url, "://") : NULL;
	const char *rest, *hostend, *at = NULL, *colon, *q;
	int rc;

	if (!p)
		return tl_buf_puts(out, url ? url : "", err);
	rest = p + 3;
	hostend = rest + strcspn(rest, "/?");
	for (q = rest; q < hostend; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return tl_buf_puts(out, url, err);
	colon = memchr(rest, ':', (size_t)(at - rest));
	if (!colon)
		return tl_buf_puts(out, url, err);
	rc = tl_buf_put(out, url, (size_t)(colon + 1 - url), err);
	if (!rc)
		rc = tl_buf_puts(out, "***", err);
	if (!rc)
		rc = tl_buf_puts(out, at, err);
	return rc;
}

void tl_url_params_free(tl_url_param *p, size_t n)
{
	size_t i;

	for (i = 0; p && i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

int tl_url_params(const char *query, tl_url_param **out, size_t *n, tl_error *err)
{
	tl_url_param *p = NULL;
	const char *s = query ? query : "";
	size_t cap = 1, k = 0;
	const char *c;

	*out = NULL;
	*n = 0;
	for (c = s; *c; c++)
		cap += *c == '&';
	p = calloc(cap, sizeof(*p));
	if (!p)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory parsing url parameters");
	while (*s) {
		size_t len = strcspn(s, "&");
		const char *eq = memchr(s, '=', len);
		size_t klen = eq ? (size_t)(eq - s) : len;

		if (len == 0) { /* "a=1&&b=2": an empty pair, as browsers and sqlx skip it */
			s++;
			continue;
		}
		if (klen == 0) {
			tl_url_params_free(p, k);
			return tl_error_set(err, TL_ERR_CONFIG, "url parameter '%.*s' has no name", (int)len, s);
		}
		p[k].key = decode(s, klen, 1);
		p[k].value = eq ? decode(eq + 1, len - klen - 1, 1) : tl_strdup("");
		if (!p[k].key || !p[k].value) {
			tl_url_params_free(p, k + 1);
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory parsing url parameters");
		}
		k++;
		s += len;
		if (*s == '&')
			s++;
	}
	*out = p;
	*n = k;
	return 0;
}

int tl_ssl_mode_parse(const char *s)
{
	static const struct {
		const char *name;
		int mode;
	} names[] = {
		{"disable", TL_SSL_DISABLE},       {"disabled", TL_SSL_DISABLE},
		{"allow", TL_SSL_PREFER},          {"prefer", TL_SSL_PREFER},
		{"preferred", TL_SSL_PREFER},      {"require", TL_SSL_REQUIRE},
		{"required", TL_SSL_REQUIRE},      {"verify_ca", TL_SSL_VERIFY_CA},
		{"verify-ca", TL_SSL_VERIFY_CA},   {"verify_full", TL_SSL_VERIFY_FULL},
		{"verify-full", TL_SSL_VERIFY_FULL}, {"verify_identity", TL_SSL_VERIFY_FULL},
	};
	size_t i;

	if (!s || !*s)
		return TL_SSL_DEFAULT;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].mode;
	return -1;
}
