/*
 * cmd_import.c - `tideline import --store PATH [--task-id ID] [--lenient] FILE...`:
 * loads position.log / finished.log / resume.config lines into the checkpoint store.
 *
 * Works like this: every file is read whole, in the order given, by the importer
 * (src/migrate/importer.c, the one a run's from_log sources use too) into one merged
 * set (the kind of each line is detected from the line itself, ape-dts precedence
 * applies: later records of a kind win). Bad lines are reported as "FILE:LINE: reason";
 * unless --lenient is given any bad line fails the import before the store is opened, so
 * the store is unchanged. Then the merged set is written in one transaction, each record
 * with its line's own timestamp and exact JSON text (so export -> import round trips),
 * together with the import_source marks of the files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "migrate/migrate.h"

/* tl_logbad_fn: prints a bad line and goes on (they are counted by the importer). */
static int print_bad(void *ctx, const char *path, size_t line_no, const char *reason, tl_error *err)
{
	(void)ctx;
	(void)err;
	fprintf(stderr, "%s:%zu: %s\n", path, line_no, reason);
	return 0;
}

static int import_usage(const char *problem);

static int run_import(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	tl_importer *im = NULL;
	tl_store *store = NULL;
	tl_store_import_stats stats = {0, 0, 0};
	const tl_resume_set *set;
	const char **paths = NULL;
	const char *store_path = NULL, *task_id = "default";
	size_t nfiles = 0, nlines = 0, nrecs = 0, nbad = 0, k, idx;
	int lenient = 0, locked = 0, status = 1, i, opts_done = 0;

	if (tl_cli_wants_help(&tl_cmd_import, argc, argv))
		return 0;
	if (tl_importer_new(&im, &err))
		goto fail;
	if (!(paths = calloc((size_t)argc, sizeof(*paths)))) {
		tl_error_set(&err, TL_ERR_NOMEM, "out of memory");
		goto fail;
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
			paths[nfiles++] = a;
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
	if (nfiles == 0) {
		status = import_usage("no FILE given");
		goto cleanup;
	}
	for (k = 0; k < nfiles; k++)
		if (tl_importer_read(im, paths[k], 0, &idx, &err) || tl_importer_parse(im, idx, print_bad, NULL, &err))
			goto fail;
	tl_importer_counts(im, &nlines, &nrecs, &nbad);
	if (nbad && !lenient) {
		tl_error_set(&err, TL_ERR_PARSE,
			     "%zu bad line%s in the input; nothing was imported (--lenient skips bad lines)", nbad,
			     nbad == 1 ? "" : "s");
		goto fail;
	}
	if (tl_store_open(&store, store_path, 0, &err) || tl_store_lock_task(store, task_id, &err))
		goto fail;
	locked = 1;
	if (tl_importer_store(im, store, task_id, &stats, &err))
		goto fail;
	set = tl_importer_set(im);
	printf("imported %zu record%s from %zu file%s (%zu lines) into task '%s' of store '%s': "
	       "%zu tables, %zu current and %zu checkpoint positions, %zu finished",
	       nrecs, nrecs == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s", nlines, task_id, tl_store_path(store),
	       tl_resume_count(set), stats.current, stats.checkpoint, stats.finished);
	if ((k = tl_resume_kept_count(set)))
		printf("; %zu non-snapshot record%s (CDC …) kept for export", k, k == 1 ? "" : "s");
	if (tl_resume_other_count(set) > tl_resume_kept_count(set))
		printf("; %zu {\"type\":\"None\"} line%s skipped", tl_resume_other_count(set) - tl_resume_kept_count(set),
		       tl_resume_other_count(set) - tl_resume_kept_count(set) == 1 ? "" : "s");
	if (nbad)
		printf("; %zu bad line%s skipped", nbad, nbad == 1 ? "" : "s");
	printf("\n");
	status = 0;
	goto cleanup;
fail:
	status = tl_cli_fail(&err);
cleanup:
	if (locked)
		tl_store_unlock_task(store, task_id);
	tl_store_close(store);
	tl_importer_free(im);
	free(paths);
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
