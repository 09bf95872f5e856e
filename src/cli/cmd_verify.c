/*
 * cmd_verify.c - `tideline verify TASK.ini [--store PATH] [--ranges N] [--json]`: per
 * selected table, source vs target row count and content checksum (computed on each
 * server), the key ranges where rows differ, and finished tables whose target lost rows.
 * Exit status: 0 every table matches, 3 differences found, 1 error, 2 usage.
 * Only prints what tl_verify_run (src/migrate/verify.c) found; never a URL or password.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "migrate/migrate.h"

#define MAX_RANGES_OPT 1000

/* "id in (10, 20]", "id <= 20", "id > 10", "id is NULL" into buf. */
static void range_text(const tl_verify_table *vt, const tl_verify_range *r, char *buf, size_t size)
{
	const char *col = vt->part_col ? vt->part_col : "key";

	if (r->nulls)
		snprintf(buf, size, "%s is NULL", col);
	else if (r->lo && r->hi)
		snprintf(buf, size, "%s in (%s, %s]", col, r->lo, r->hi);
	else if (r->hi)
		snprintf(buf, size, "%s <= %s", col, r->hi);
	else if (r->lo)
		snprintf(buf, size, "%s > %s", col, r->lo);
	else
		snprintf(buf, size, "%s is not NULL", col);
}

/* "db.t", or "db.t -> dst.t" when [router] sends it elsewhere. */
static const char *table_name(const tl_verify_table *vt, char *buf, size_t size)
{
	if (vt->dst_schema && vt->dst_tb && (strcmp(vt->dst_schema, vt->schema) || strcmp(vt->dst_tb, vt->tb)))
		snprintf(buf, size, "%s.%s -> %s.%s", vt->schema, vt->tb, vt->dst_schema, vt->dst_tb);
	else
		snprintf(buf, size, "%s.%s", vt->schema, vt->tb);
	return buf;
}

static void rows_text(int64_t n, char *buf, size_t size)
{
	if (n < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%lld", (long long)n);
}

static const char *status_text(const tl_verify_table *vt)
{
	if (vt->state == TL_VERIFY_NO_TARGET)
		return "target mismatch";
	if (vt->state == TL_VERIFY_OK)
		return vt->checksummed ? "ok" : "ok (count only)";
	if (vt->src_rows == vt->dst_rows && vt->content_differs)
		return "differs (same row count, content differs)";
	if (vt->src_rows == vt->dst_rows)
		return "differs";
	return vt->dst_rows < vt->src_rows ? "differs (rows missing on target)" : "differs (extra rows on target)";
}

void tl_cli_print_verify(const tl_verify_report *rep)
{
	size_t i, j, w = 5;
	char name[1024], sr[32], dr[32], range[4096];

	for (i = 0; i < rep->n; i++) {
		size_t l = strlen(table_name(&rep->tables[i], name, sizeof(name)));
		if (l > w)
			w = l;
	}
	if (w > 60)
		w = 60;
	printf("%-*s  %12s  %12s  %s\n", (int)w, "TABLE", "SOURCE ROWS", "TARGET ROWS", "STATUS");
	for (i = 0; i < rep->n; i++) {
		const tl_verify_table *vt = &rep->tables[i];
		table_name(vt, name, sizeof(name));
		rows_text(vt->src_rows, sr, sizeof(sr));
		rows_text(vt->dst_rows, dr, sizeof(dr));
		printf("%-*s  %12s  %12s  %s\n", (int)w, name, sr, dr, status_text(vt));
		for (j = 0; j < vt->nranges; j++) {
			const tl_verify_range *r = &vt->ranges[j];
			range_text(vt, r, range, sizeof(range));
			printf("    rows %s: source %lld, target %lld%s\n", range, (long long)r->src_rows,
			       (long long)r->dst_rows,
			       r->dst_rows == 0   ? " (missing on target)"
			       : r->src_rows == 0 ? " (only on target)"
			       : r->src_rows == r->dst_rows && r->content_differs ? " (content differs)"
										   : "");
		}
		if (vt->ranges_coarse)
			printf("    (range budget reached: some ranges were not narrowed further)\n");
		if (vt->lost_since_finish)
			printf("    target lost rows since finished (had %lld, now %lld)\n", (long long)vt->rows_at_finish,
			       (long long)vt->dst_rows);
		if (vt->note)
			printf("    note: %s\n", vt->note);
	}
	if (rep->store_note)
		printf("note: %s\n", rep->store_note);
	if (rep->ndiffer)
		printf("%zu of %zu tables differ\n", rep->ndiffer, rep->n);
	else
		printf("all %zu tables match\n", rep->n);
}

static void add_rows(cJSON *o, const char *key, int64_t n)
{
	if (n < 0)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, (double)n);
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static int print_json(const tl_verify_report *rep)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *s = NULL;
	size_t i, j;
	int rc = -1;

	if (!root || !arr) {
		cJSON_Delete(arr);
		goto cleanup;
	}
	cJSON_AddBoolToObject(root, "match", rep->ndiffer == 0);
	cJSON_AddNumberToObject(root, "tables_differ", (double)rep->ndiffer);
	cJSON_AddItemToObject(root, "tables", arr);
	add_str(root, "note", rep->store_note);
	for (i = 0; i < rep->n; i++) {
		const tl_verify_table *vt = &rep->tables[i];
		cJSON *o = cJSON_CreateObject(), *ra = cJSON_CreateArray();
		if (!o || !ra) {
			cJSON_Delete(o);
			cJSON_Delete(ra);
			goto cleanup;
		}
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "schema", vt->schema);
		cJSON_AddStringToObject(o, "tb", vt->tb);
		add_str(o, "target_schema", vt->dst_schema);
		add_str(o, "target_tb", vt->dst_tb);
		cJSON_AddStringToObject(o, "status", tl_verify_state_name(vt->state));
		add_rows(o, "source_rows", vt->src_rows);
		add_rows(o, "target_rows", vt->dst_rows);
		cJSON_AddBoolToObject(o, "checksum", vt->checksummed);
		cJSON_AddBoolToObject(o, "content_differs", vt->content_differs);
		add_str(o, "partition_column", vt->part_col);
		add_rows(o, "target_rows_at_finish", vt->rows_at_finish);
		cJSON_AddBoolToObject(o, "lost_since_finished", vt->lost_since_finish);
		add_str(o, "note", vt->note);
		cJSON_AddBoolToObject(o, "ranges_coarse", vt->ranges_coarse);
		cJSON_AddItemToObject(o, "ranges", ra);
		for (j = 0; j < vt->nranges; j++) {
			const tl_verify_range *r = &vt->ranges[j];
			cJSON *ro = cJSON_CreateObject();
			if (!ro)
				goto cleanup;
			cJSON_AddItemToArray(ra, ro);
			add_str(ro, "lo", r->nulls ? NULL : r->lo);
			add_str(ro, "hi", r->nulls ? NULL : r->hi);
			cJSON_AddBoolToObject(ro, "nulls", r->nulls);
			cJSON_AddNumberToObject(ro, "source_rows", (double)r->src_rows);
			cJSON_AddNumberToObject(ro, "target_rows", (double)r->dst_rows);
			cJSON_AddBoolToObject(ro, "content_differs", r->content_differs);
		}
	}
	s = cJSON_Print(root);
	if (s) {
		printf("%s\n", s);
		rc = 0;
	}
cleanup:
	free(s);
	cJSON_Delete(root);
	return rc;
}

/* Parses --ranges: a decimal integer in [2, MAX_RANGES_OPT]. */
static int parse_ranges(const char *s, size_t *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !end || *end || end == s || s[0] == '-' || v < 2 || v > MAX_RANGES_OPT)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int run_verify(int argc, char **argv)
{
	tl_config *cfg = NULL;
	tl_logger *log = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_verify_opts opts;
	tl_verify_report rep;
	tl_fault *fault = NULL;
	const char *task = NULL;
	int json = 0, trace = 0, i, status = 1;

	memset(&opts, 0, sizeof(opts));
	memset(&rep, 0, sizeof(rep));
	if (tl_cli_wants_help(&tl_cmd_verify, argc, argv))
		return 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--ranges") == 0) {
			if (i + 1 >= argc || parse_ranges(argv[++i], &opts.ranges) != 0)
				return tl_cli_usage(&tl_cmd_verify, "--ranges needs a number from 2 to 1000");
		} else if (strcmp(argv[i], "--store") == 0) {
			if (i + 1 >= argc)
				return tl_cli_usage(&tl_cmd_verify, "--store needs a path");
			opts.store_path = argv[++i];
		} else if (argv[i][0] == '-') {
			return tl_cli_usage(&tl_cmd_verify, "unknown option");
		} else if (!task) {
			task = argv[i];
		} else {
			return tl_cli_usage(&tl_cmd_verify, "only one task file");
		}
	}
	if (!task)
		return tl_cli_usage(&tl_cmd_verify, "missing TASK.ini");
	if (tl_cli_debug_hooks(&fault, &trace, &err) || tl_cli_load_task(task, &cfg, &log, &err)) {
		tl_fault_free(fault);
		return tl_cli_fail(&err);
	}
	opts.log = log;
	opts.fault = fault;
	if (tl_verify_run(cfg, &opts, &rep, &err))
		goto cleanup;
	if (json) {
		if (print_json(&rep) != 0) {
			tl_error_set(&err, TL_ERR_NOMEM, "out of memory writing the JSON report");
			goto cleanup;
		}
	} else {
		tl_cli_print_verify(&rep);
	}
	if (fflush(stdout) != 0) {
		tl_error_set(&err, TL_ERR_IO, "cannot write the report: %s", strerror(errno));
		goto cleanup;
	}
	status = rep.ndiffer ? 3 : 0;
cleanup:
	if (status == 1)
		status = tl_cli_fail(&err);
	tl_verify_report_clear(&rep);
	tl_logger_free(log);
	tl_config_free(cfg);
	tl_fault_free(fault);
	return status;
}

const struct tl_command tl_cmd_verify = {
	"verify",
	"tideline verify TASK.ini [--store PATH] [--ranges N] [--json]",
	"compare source and target per table (row counts, checksums) and report differing key ranges",
	run_verify,
};
