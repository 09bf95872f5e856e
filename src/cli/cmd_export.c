/*
 * cmd_export.c - `tideline export --store PATH [--task-id ID] --dir DIR`: writes the
 * store's records of a task as ape-dts text logs, DIR/position.log (current rows as
 * `| current_position |` lines, checkpoint rows as `| checkpoint_position |`, in the
 * order they were first recorded) and DIR/finished.log (`<finished_at> | <json>`).
 * Each line carries the stored timestamp and the exact stored JSON, so importing the
 * export into a fresh store gives the same rows. Each file is written to a temporary
 * name in DIR, flushed to disk and renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"
#include "tideline/buf.h"
#include "tideline/store.h"

struct out_file {
	FILE *f;
	const char *path; /* final path */
	const char *tmp;  /* temporary path */
	size_t nrows;
};

static int write_row(void *vctx, const tl_store_row *row, tl_error *err)
{
	struct out_file *o = vctx;
	int n;

	if (strcmp(row->kind, "finished") == 0)
		n = fprintf(o->f, "%s | %s\n", row->updated_at ? row->updated_at : "", row->json ? row->json : "");
	else
		n = fprintf(o->f, "%s | %s | %s\n", row->updated_at ? row->updated_at : "",
			    strcmp(row->kind, "current") == 0 ? "current_position" : "checkpoint_position",
			    row->json ? row->json : "");
	if (n < 0)
		return tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", o->tmp, strerror(errno));
	o->nrows++;
	return 0;
}

/* Writes one file through a temporary name; `finished` selects finished.log. */
static int export_file(tl_store *store, const char *task_id, const char *dir, const char *name, int finished,
		       size_t *nrows, tl_error *err)
{
	tl_buf path = TL_BUF_INIT, tmp = TL_BUF_INIT;
	struct out_file o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = tl_buf_printf(&path, err, "%s/%s", dir, name)) ||
	    (rc = tl_buf_printf(&tmp, err, "%s/.%s.tmp.%ld", dir, name, (long)getpid())))
		goto cleanup;
	o.path = path.data;
	o.tmp = tmp.data;
	o.f = fopen(o.tmp, "w");
	if (!o.f) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot create '%s': %s", o.tmp, strerror(errno));
		goto cleanup;
	}
	/* kept non-snapshot records (CDC …) go first into position.log, then the table positions */
	rc = finished ? tl_store_foreach_finished(store, task_id, write_row, &o, err)
		      : tl_store_foreach_other(store, task_id, write_row, &o, err);
	if (!rc && !finished)
		rc = tl_store_foreach_position(store, task_id, write_row, &o, err);
	if (rc)
		goto cleanup;
	if (fflush(o.f) != 0 || ferror(o.f) || fsync(fileno(o.f)) != 0) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", o.tmp, strerror(errno));
		goto cleanup;
	}
	if (fclose(o.f) != 0) {
		o.f = NULL;
		rc = tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", o.tmp, strerror(errno));
		goto cleanup;
	}
	o.f = NULL;
	if (rename(o.tmp, o.path) != 0) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot rename '%s' to '%s': %s", o.tmp, o.path, strerror(errno));
		goto cleanup;
	}
	*nrows = o.nrows;
cleanup:
	if (o.f)
		fclose(o.f);
	if (rc && o.tmp)
		(void)unlink(o.tmp);
	tl_buf_release(&path);
	tl_buf_release(&tmp);
	return rc;
}

/* Creates DIR if missing (one level) and checks it is a directory. */
static int ensure_dir(const char *dir, tl_error *err)
{
	struct stat sb;

	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return tl_error_set(err, TL_ERR_IO, "'%s' is not a directory", dir);
		return 0;
	}
	if (errno != ENOENT || mkdir(dir, 0777) != 0)
		return tl_error_set(err, TL_ERR_IO, "cannot create directory '%s': %s", dir, strerror(errno));
	return 0;
}

/* Makes the renames durable. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

static int has_task(char **ids, const char *task_id)
{
	size_t i;

	for (i = 0; ids && ids[i]; i++)
		if (strcmp(ids[i], task_id) == 0)
			return 1;
	return 0;
}

static int run_export(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *store = NULL;
	char **ids = NULL;
	const char *store_path = NULL, *task_id = "default", *dir = NULL;
	size_t npos = 0, nfin = 0;
	int status = 1, i;

	if (tl_cli_wants_help(&tl_cmd_export, argc, argv))
		return 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		const char *val = NULL;

		if (strcmp(a, "--store") == 0 || strncmp(a, "--store=", 8) == 0)
			slot = &store_path;
		else if (strcmp(a, "--task-id") == 0 || strncmp(a, "--task-id=", 10) == 0)
			slot = &task_id;
		else if (strcmp(a, "--dir") == 0 || strncmp(a, "--dir=", 6) == 0)
			slot = &dir;
		if (!slot) {
			fprintf(stderr, "tideline export: unexpected argument '%s'\n", a);
			return tl_cli_usage(&tl_cmd_export, NULL);
		}
		val = strchr(a, '=');
		if (val) {
			val++;
		} else {
			if (i + 1 >= argc)
				return tl_cli_usage(&tl_cmd_export, "option needs a value");
			val = argv[++i];
		}
		*slot = val;
	}
	if (!store_path || !*store_path)
		return tl_cli_usage(&tl_cmd_export, "--store PATH is required");
	if (!dir || !*dir)
		return tl_cli_usage(&tl_cmd_export, "--dir DIR is required");
	if (!*task_id)
		return tl_cli_usage(&tl_cmd_export, "--task-id must not be empty");
	if (tl_store_open(&store, store_path, TL_STORE_READONLY, &err) || tl_store_task_ids(store, &ids, &err) ||
	    ensure_dir(dir, &err))
		goto fail;
	if (!has_task(ids, task_id)) {
		fprintf(stderr, "tideline: warning: task '%s' has no records in store '%s'", task_id, tl_store_path(store));
		for (i = 0; ids[i]; i++)
			fprintf(stderr, "%s'%s'", i ? ", " : " (its tasks: ", ids[i]);
		fprintf(stderr, "%s\n", i ? ")" : "");
	}
	if (export_file(store, task_id, dir, "position.log", 0, &npos, &err) ||
	    export_file(store, task_id, dir, "finished.log", 1, &nfin, &err))
		goto fail;
	sync_dir(dir);
	printf("exported task '%s' of store '%s': %zu position%s to %s/position.log, %zu finished table%s to "
	       "%s/finished.log\n",
	       task_id, tl_store_path(store), npos, npos == 1 ? "" : "s", dir, nfin, nfin == 1 ? "" : "s", dir);
	status = 0;
	goto cleanup;
fail:
	status = tl_cli_fail(&err);
cleanup:
	tl_store_free_list(ids);
	tl_store_close(store);
	return status;
}

const struct tl_command tl_cmd_export = {
	"export",
	"tideline export --store PATH [--task-id ID] --dir DIR",
	"write position.log and finished.log from the store, in the ape-dts text formats",
	run_export,
};
