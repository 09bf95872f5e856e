/*
 * url.c - splitting database URLs (scheme://user:pass@host:port/path?query) and
 * redacting their passwords for logs and error messages. User and password are
 * percent-decoded. Used by the MySQL and PostgreSQL connectors; mongo-c-driver parses
 * its own URIs.
 */
#include <stdlib.h>
#include <string.h>
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

static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, j = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			out[j++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
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
