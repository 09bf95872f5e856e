/*
 * cmd_import.c - `tideline import --store PATH [--task-id ID] [--lenient] FILE...`:
 * loads position.log / finished.log / resume.config lines into the checkpoint store.
 *
 * Works like this: every file is read whole, in the order given, into one tl_resume_set
 * (the kind of each line is detected from the line itself, ape-dts precedence applies:
 * later records of a kind win). Bad lines are reported as "FILE:LINE: reason"; unless
 * --lenient is given any bad line fails the import before the store is opened, so the
 * store is unchanged. Then the merged set is written in one transaction, each record
 * with its line's own timestamp and exact JSON text (so export -> import round trips),
 * together with the import_source marks of the files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "tideline/buf.h"
#include "tideline/logfmt.h"
#include "tideline/resume.h"
#include "tideline/store.h"

/* One input file kept in memory so each record's timestamp and JSON can be found again. */
struct in_file {
	const char *path;
	char *data;
	size_t size;
	size_t *starts; /* starts[i]: offset of line i+1; starts[nlines] = size */
	size_t nlines;
	uint64_t hash;
};

struct import_ctx {
	struct in_file *files;
	size_t nfiles;
	size_t nbad, nlines, nrecs;
	char ts[64]; /* the timestamp handed to the store, valid until the next origin call */
};

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int read_whole(struct in_file *f, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	char chunk[65536];
	FILE *fp = fopen(f->path, "rb");
	size_t got;
	int rc = 0;

	if (!fp) {
		if (errno == ENOENT)
			return tl_error_set(err, TL_ERR_NOTFOUND, "file '%s' does not exist", f->path);
		return tl_error_set(err, TL_ERR_IO, "cannot open '%s': %s", f->path, strerror(errno));
	}
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if ((rc = tl_buf_put(&b, chunk, got, err)))
			goto cleanup;
	if (ferror(fp)) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", f->path, strerror(errno));
		goto cleanup;
	}
	f->size = b.len;
	f->hash = fnv1a(b.data ? b.data : "", b.len);
	f->data = b.data ? tl_buf_detach(&b) : tl_strdup("");
	if (!f->data)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
cleanup:
	tl_buf_release(&b);
	fclose(fp);
	return rc;
}

/* Reads one file into the set; bad lines are printed and counted. */
static int load_file(struct import_ctx *ctx, struct in_file *f, tl_resume_set *set, tl_error *err)
{
	tl_error lerr = TL_ERROR_INIT;
	size_t pos = 0, cap = 0;
	int rc;

	if ((rc = read_whole(f, err)))
		return rc;
	while (pos < f->size) {
		const char *line = f->data + pos;
		const char *nl = memchr(line, '\n', f->size - pos);
		size_t len = nl ? (size_t)(nl - line) : f->size - pos;
		tl_logrec rec;

		if (f->nlines + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			size_t *ns = realloc(f->starts, ncap * sizeof(*ns));

			if (!ns)
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
			f->starts = ns;
			cap = ncap;
		}
		f->starts[f->nlines++] = pos;
		pos += len + (nl ? 1 : 0);
		ctx->nlines++;
		memset(&rec, 0, sizeof(rec));
		rc = tl_logfmt_parse_line(line, len, &rec, &lerr);
		if (rc == 0) {
			rc = tl_resume_add(set, &rec.pos, rec.is_current, f->path, (long)f->nlines, &lerr);
			if (rc == 0)
				ctx->nrecs++;
		}
		tl_pos_clear(&rec.pos);
		if (rc == 1)
			continue;
		if (rc == TL_ERR_PARSE) {
			fprintf(stderr, "%s:%zu: %s\n", f->path, f->nlines, lerr.message);
			ctx->nbad++;
			continue;
		}
		if (rc) {
			if (err)
				*err = lerr;
			return tl_error_prefix(err, "%s:%zu", f->path, f->nlines);
		}
	}
	if (!f->starts && !(f->starts = malloc(sizeof(*f->starts))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
	f->starts[f->nlines] = f->size;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a leading "YYYY-MM-DD HH:MM:SS[.f…]" timestamp, 0 if there is none. */
static size_t timestamp_len(const char *p, size_t n)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t i;

	if (n < sizeof(shape) - 1)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != shape[i])
			return 0;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && p[i] != ' ' && p[i] != '|')
		return 0;
	return i;
}

/* tl_store_origin_fn: the timestamp and exact JSON of the line a record came from. */
static int origin(void *vctx, const char *source, long line, const char **ts, const char **json, size_t *json_len,
		  tl_error *err)
{
	struct import_ctx *ctx = vctx;
	const struct in_file *f = NULL;
	const char *p, *first, *last;
	size_t i, n, tl;

	for (i = ctx->nfiles; i-- > 0;)
		if (source && strcmp(ctx->files[i].path, source) == 0) {
			f = &ctx->files[i];
			break;
		}
	if (!f || line < 1 || (size_t)line > f->nlines)
		return 0;
	p = f->data + f->starts[line - 1];
	n = f->starts[line] - f->starts[line - 1];
	first = memchr(p, '{', n);
	last = first ? memrchr(first, '}', n - (size_t)(first - p)) : NULL;
	if (first && last) {
		*json = first;
		*json_len = (size_t)(last - first) + 1;
	}
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	tl = timestamp_len(p, n);
	if (tl && tl < sizeof(ctx->ts)) {
		memcpy(ctx->ts, p, tl);
		ctx->ts[tl] = '\0';
		*ts = ctx->ts;
	}
	(void)err;
	return 0;
}

static int import_usage(const char *problem);

static int run_import(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	struct import_ctx ctx;
	tl_resume_set *set = NULL;
	tl_store *store = NULL;
	tl_store_import_stats stats = {0, 0, 0};
	const char *store_path = NULL, *task_id = "default";
	int lenient = 0, locked = 0, in_tx = 0, status = 1, i, opts_done = 0;
	size_t k;

	memset(&ctx, 0, sizeof(ctx));
	if (tl_cli_wants_help(&tl_cmd_import, argc, argv))
		return 0;
	ctx.files = calloc((size_t)argc, sizeof(*ctx.files));
	if (!ctx.files) {
		tl_error_set(&err, TL_ERR_NOMEM, "out of memory");
		status = tl_cli_fail(&err);
		goto cleanup;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = 1;
		} else if (!opts_done && (strcmp(a, "--store") == 0 || strcmp(a, "--task-id") == 0)) {
			if (i + 1 >= argc) {
				status = import_usage("option needs a value");
				goto cleanup;
			}
			if (a[2] == 's')
				store_path = argv[++i];
			else
				task_id = argv[++i];
		} else if (!opts_done && strncmp(a, "--store=", 8) == 0) {
			store_path = a + 8;
		} else if (!opts_done && strncmp(a, "--task-id=", 10) == 0) {
			task_id = a + 10;
		} else if (!opts_done && strcmp(a, "--lenient") == 0) {
			lenient = 1;
		} else if (!opts_done && a[0] == '-' && a[1]) {
			fprintf(stderr, "tideline import: unknown option '%s'\n", a);
			status = import_usage(NULL);
			goto cleanup;
		} else {
			ctx.files[ctx.nfiles++].path = a;
		}
	}
	if (!store_path || !*store_path) {
		status = import_usage("--store PATH is required");
		goto cleanup;
	}
	if (!*task_id) {
		status = import_usage("--task-id must not be empty");
		goto cleanup;
	}
	if (ctx.nfiles == 0) {
		status = import_usage("no FILE given");
		goto cleanup;
	}
	if (tl_resume_set_new(&set, &err))
		goto fail;
	for (k = 0; k < ctx.nfiles; k++)
		if (load_file(&ctx, &ctx.files[k], set, &err))
			goto fail;
	if (ctx.nbad && !lenient) {
		tl_error_set(&err, TL_ERR_PARSE,
			     "%zu bad line%s in the input; nothing was imported (--lenient skips bad lines)", ctx.nbad,
			     ctx.nbad == 1 ? "" : "s");
		goto fail;
	}
	if (tl_store_open(&store, store_path, 0, &err) || tl_store_lock_task(store, task_id, &err))
		goto fail;
	locked = 1;
	if (tl_store_begin(store, &err))
		goto fail;
	in_tx = 1;
	if (tl_store_import_set_ex(store, task_id, set, origin, &ctx, &stats, &err))
		goto fail;
	for (k = 0; k < ctx.nfiles; k++)
		if (tl_store_source_mark(store, task_id, ctx.files[k].path, (int64_t)ctx.files[k].size,
					 ctx.files[k].hash, &err))
			goto fail;
	in_tx = 0;
	if (tl_store_commit(store, &err))
		goto fail;
	printf("imported %zu record%s from %zu file%s (%zu lines) into task '%s' of store '%s': "
	       "%zu tables, %zu current and %zu checkpoint positions, %zu finished",
	       ctx.nrecs, ctx.nrecs == 1 ? "" : "s", ctx.nfiles, ctx.nfiles == 1 ? "" : "s", ctx.nlines, task_id,
	       tl_store_path(store), tl_resume_count(set), stats.current, stats.checkpoint, stats.finished);
	if (tl_resume_kept_count(set))
		printf("; %zu non-snapshot record%s (CDC …) kept for export", tl_resume_kept_count(set),
		       tl_resume_kept_count(set) == 1 ? "" : "s");
	if (tl_resume_other_count(set) > tl_resume_kept_count(set))
		printf("; %zu {\"type\":\"None\"} line%s skipped", tl_resume_other_count(set) - tl_resume_kept_count(set),
		       tl_resume_other_count(set) - tl_resume_kept_count(set) == 1 ? "" : "s");
	if (ctx.nbad)
		printf("; %zu bad line%s skipped", ctx.nbad, ctx.nbad == 1 ? "" : "s");
	printf("\n");
	status = 0;
	goto cleanup;
fail:
	status = tl_cli_fail(&err);
cleanup:
	if (in_tx)
		tl_store_rollback(store);
	if (locked)
		tl_store_unlock_task(store, task_id);
	tl_store_close(store);
	tl_resume_set_free(set);
	if (ctx.files)
		for (k = 0; k < ctx.nfiles; k++) {
			free(ctx.files[k].data);
			free(ctx.files[k].starts);
		}
	free(ctx.files);
	return status;
}

const struct tl_command tl_cmd_import = {
	"import",
	"tideline import --store PATH [--task-id ID] [--lenient] FILE...",
	"load position.log / finished.log / resume.config lines into the store",
	run_import,
};

static int import_usage(const char *problem)
{
	return tl_cli_usage(&tl_cmd_import, problem);
}
