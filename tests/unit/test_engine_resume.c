/*
 * test_engine_resume.c - plan and resume against the fake driver: a run resumes exactly
 * after every kind of record (current and checkpoint lines, finished, the old order_col
 * form, composite keys, a null key value, split-mode checkpoints) with ape-dts
 * precedence, reads only the rows after the position and leaves the target row-exact;
 * records that cannot be used are ignored with their reason; the plan's modes (batch,
 * split, scan, partition_cols) and its target checks (lost rows, keyless targets that
 * need --init); ape-dts' database store as a source (from_db) and as a recorder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 60

#define POS(kind, tb, key) "2024-01-01 00:00:00.000000 | " kind " | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"" tb "\"," key "}\n"
#define CUR(tb, key) POS("current_position", tb, key)
#define CKPT(tb, key) POS("checkpoint_position", tb, key)
#define FIN(tb) "2024-01-01 00:00:00.000000 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"" tb "\"}\n"

/* Writes into the target the rows 1..upto of a standard table, as an earlier run would have
 * (same values as ft_standard_tables; the nullable-key table without its NULL rows). */
static void prefill(ft_env *e, const char *tb, long upto)
{
	char a[32], b[32], v[32];
	long i;

	for (i = 1; i <= upto; i++) {
		const char *row[3];
		snprintf(v, sizeof(v), "v%ld", i);
		if (strcmp(tb, "comp") == 0) {
			snprintf(a, sizeof(a), "%ld", (i - 1) / 10 + 1);
			snprintf(b, sizeof(b), "%ld", (i - 1) % 10 + 1);
			row[0] = a;
			row[1] = b;
			row[2] = v;
		} else if (strcmp(tb, "tkey") == 0) {
			snprintf(a, sizeof(a), "k%04ld", i);
			snprintf(b, sizeof(b), "%ld", i * 3);
			row[0] = a;
			row[1] = b;
		} else {
			snprintf(a, sizeof(a), "%ld", i);
			row[0] = a;
			row[1] = strcmp(tb, "keyed") == 0 && i % 7 == 0 ? NULL : v;
		}
		if (tl_fake_insert(e->dst, "s", tb, row) != 0)
			TL_CHECK_MSG(0, "prefill %s", tb);
	}
}

/* A task over one table with resume.config `cfg` (and position.log `plog`). */
static int resume_setup(ft_env *e, const char *tb, const char *cfg, const char *plog, const char *extra)
{
	char ini[1024], path[4300];
	FILE *f;

	if (ft_setup(e) || ft_standard_tables(e, ROWS))
		return -1;
	snprintf(path, sizeof(path), "%s/old", e->dir);
	if (mkdir(path, 0777) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/old/position.log", e->dir);
	if (plog && (!(f = fopen(path, "w")) || fputs(plog, f) < 0 || fclose(f) != 0))
		return -1;
	snprintf(ini, sizeof(ini), "[filter]\ndo_dbs=none\ndo_tbs=s.%s\n[resumer]\nconfig_file=%s\nlog_dir=%s/old\n%s", tb,
		 ft_write(e, "resume.config", cfg ? cfg : ""), e->dir, extra ? extra : "");
	return ft_task(e, ini) ? 0 : -1;
}

/* Runs and checks: exit ok, target row-exact, `reads` source rows read. */
static void run_expect(ft_env *e, const char *tb, long reads, const char *what)
{
	tl_error err = TL_ERROR_INIT;
	char why[512];

	TL_CHECK_MSG(ft_run(e, NULL, &err) == 0, "%s: %s", what, err.message);
	TL_CHECK_MSG(tl_fake_same_rows(e->src, e->dst, "s", tb, why, sizeof(why)), "%s: %s", what, why);
	TL_CHECK_MSG(tl_fake_rows_read(e->src) == reads, "%s: %ld rows read, expected %ld", what,
		     tl_fake_rows_read(e->src), reads);
}

TL_TEST(resume_after_each_kind_of_record)
{
	static const struct {
		const char *what, *tb, *cfg, *plog;
		long upto, reads;
	} cases[] = {
		{"current line", "keyed", CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"20\"]}"), NULL, 20, 40},
		{"checkpoint line", "keyed", CKPT("keyed", "\"order_key\":{\"single\":[\"id\",\"25\"]}"), NULL, 25, 35},
		{"bare JSON line", "keyed", "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"keyed\",\"order_key\":{\"single\":[\"id\",\"30\"]}}\n", NULL, 30, 30},
		{"old order_col form", "keyed", CKPT("keyed", "\"order_col\":\"id\",\"value\":\"20\""), NULL, 20, 40},
		{"composite key", "comp", CKPT("comp", "\"order_key\":{\"composite\":[[\"a\",\"2\"],[\"b\",\"10\"]]}"), NULL, 20, 40},
		{"text key", "tkey", CUR("tkey", "\"order_key\":{\"single\":[\"k\",\"k0010\"]}"), NULL, 10, 50},
		{"finished", "keyed", FIN("keyed"), NULL, ROWS, 0},
		/* a null key value: k > NULL matches nothing, only the NULL pass runs */
		{"null key value", "nuk", CKPT("nuk", "\"order_key\":{\"single\":[\"u\",null]}"), NULL, ROWS, ROWS / 8 + 1},
		/* the nullable unique key resumes after 30, then its NULL pass */
		{"nullable key", "nuk", CKPT("nuk", "\"order_key\":{\"single\":[\"u\",\"30\"]}"), NULL, 30, 30 + ROWS / 8 + 1},
		/* precedence: position.log beats resume.config, current beats checkpoint */
		{"position.log wins", "keyed", CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"5\"]}"),
		 CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"40\"]}"), 40, 20},
		{"current beats checkpoint", "keyed", CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"10\"]}"),
		 CKPT("keyed", "\"order_key\":{\"single\":[\"id\",\"40\"]}"), 10, 50},
		{"finished beats all", "keyed", FIN("keyed") CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"10\"]}"), NULL,
		 ROWS, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ft_env e;
		TL_CHECK(resume_setup(&e, cases[i].tb, cases[i].cfg, cases[i].plog, NULL) == 0);
		prefill(&e, cases[i].tb, cases[i].upto);
		run_expect(&e, cases[i].tb, cases[i].reads, cases[i].what);
		ft_teardown(&e);
	}
}

/* Records that do not fit the table are ignored with a reason and the table starts over. */
TL_TEST(unusable_records_are_ignored_with_a_reason)
{
	static const struct {
		const char *tb, *cfg, *reason;
	} cases[] = {
		{"comp", CKPT("comp", "\"order_key\":{\"single\":[\"a\",\"2\"]}"), "key arity mismatch"},
		{"comp", CKPT("comp", "\"order_col\":\"a\",\"value\":\"2\""), "old order_col form on a table whose key has several columns"},
		{"keyed", CKPT("keyed", "\"order_key\":{\"single\":[\"v\",\"2\"]}"), "key column mismatch"},
		{"keyed", CKPT("keyed", "\"order_col\":\"v\",\"value\":\"2\""), "order_col does not name the table's key column"},
		{"keyed", CKPT("keyed", "\"order_key\":null"), "the record has no key"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ft_env e;
		tl_plan p;
		tl_config *cfg = NULL;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK(resume_setup(&e, cases[i].tb, cases[i].cfg, NULL, NULL) == 0);
		TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
		TL_CHECK_EQ_INT(p.n, 1);
		if (p.n == 1) {
			TL_CHECK(p.items[0].action == TL_ACT_START);
			TL_CHECK_MSG(p.items[0].ignored && strstr(p.items[0].ignored, cases[i].reason), "%s: ignored = %s",
				     cases[i].reason, p.items[0].ignored ? p.items[0].ignored : "(null)");
			TL_CHECK_MSG(p.items[0].ignored && strstr(p.items[0].ignored, "resume.config line 1"), "%s",
				     p.items[0].ignored ? p.items[0].ignored : "(null)");
		}
		ft_plan_free(&p, cfg);
		/* the run copies the whole table (the target is empty: nothing twice) */
		run_expect(&e, cases[i].tb, strcmp(cases[i].tb, "nuk") == 0 ? ROWS + ROWS / 8 + 1 : ROWS, cases[i].reason);
		ft_teardown(&e);
	}
}

/* A resume value that does not fit the key column fails the run with a clear message. */
TL_TEST(resume_value_of_the_wrong_type)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(resume_setup(&e, "keyed", CKPT("keyed", "\"order_key\":{\"single\":[\"id\",\"abc\"]}"), NULL, NULL) == 0);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "'abc'") && strstr(err.message, "s.keyed"), "%s", err.message);
	ft_teardown(&e);
}

/* Split mode (chunk) takes checkpoint lines only, on the partition column. */
TL_TEST(resume_split_mode_from_a_checkpoint)
{
	ft_env e;

	TL_CHECK(resume_setup(&e, "keyed",
			      CUR("keyed", "\"order_key\":{\"single\":[\"id\",\"50\"]}")
				      CKPT("keyed", "\"order_key\":{\"single\":[\"id\",\"30\"]}"),
			      NULL, "[extractor]\nparallel_type=chunk\nparallel_size=2\n") == 0);
	prefill(&e, "keyed", 30);
	run_expect(&e, "keyed", 30, "split mode from a checkpoint");
	ft_teardown(&e);
}

TL_TEST(plan_modes_and_partition_cols)
{
	ft_env e;
	tl_plan p;
	tl_config *cfg = NULL;
	tl_error err = TL_ERROR_INIT;
	size_t i;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0);
	TL_CHECK(tl_fake_add_table(e.src, "s", "small", "id int key") == 0 &&
		 tl_fake_add_table(e.dst, "s", "small", "id int key") == 0);
	TL_CHECK(ft_task(&e, "[extractor]\npartition_cols=json:[{\"db\":\"s\",\"tb\":\"tkey\",\"partition_col\":\"v\"}]\n") !=
		 NULL);
	TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
	TL_CHECK_EQ_INT(p.n, 6);
	for (i = 0; i < p.n; i++) {
		const tl_plan_item *it = &p.items[i];
		if (strcmp(it->tb, "nokey") == 0)
			TL_CHECK_MSG(it->mode == TL_MODE_SPLIT, "nokey: %s", tl_plan_mode_name(it->mode));
		else if (strcmp(it->tb, "small") == 0)
			TL_CHECK(it->mode == TL_MODE_BATCH);
		else if (strcmp(it->tb, "tkey") == 0) {
			/* partition_cols: split on the named column, even in table mode */
			TL_CHECK_MSG(it->mode == TL_MODE_SPLIT, "tkey: %s", tl_plan_mode_name(it->mode));
			TL_CHECK_EQ_STR(tl_table_part(it->table)->name, "v");
		} else
			TL_CHECK_MSG(it->mode == TL_MODE_BATCH, "%s: %s", it->tb, tl_plan_mode_name(it->mode));
		TL_CHECK(it->action == TL_ACT_START);
	}
	ft_plan_free(&p, cfg);
	/* and the run copies the table split on that column */
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK(ft_all_same(&e, err.message, sizeof(err.message)));
	TL_CHECK(tl_fake_calls(e.src, TL_SLOT_NEXT_BOUND) > 2);
	ft_teardown(&e);

	/* a partition column the table does not have: a config error naming the line */
	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0);
	TL_CHECK(ft_task(&e, "[extractor]\npartition_cols=json:[{\"db\":\"s\",\"tb\":\"tkey\",\"partition_col\":\"zz\"}]\n") !=
		 NULL);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "task.ini:19:") && strstr(err.message, "no column zz"), "%s", err.message);
	ft_teardown(&e);
}

/* The plan's look at the targets: lost rows of finished tables, keyless targets that hold rows. */
TL_TEST(plan_target_checks)
{
	ft_env e;
	tl_plan p;
	tl_config *cfg = NULL;
	tl_error err = TL_ERROR_INIT;
	size_t i;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, NULL));
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	/* the target loses rows of a finished table */
	TL_CHECK(tl_fake_truncate(e.dst, "s", "keyed") == 0);
	TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
	for (i = 0; i < p.n; i++) {
		TL_CHECK(p.items[i].action == TL_ACT_SKIP);
		if (strcmp(p.items[i].tb, "keyed") == 0)
			TL_CHECK_MSG(p.items[i].warning && strstr(p.items[i].warning, "target lost rows since finished (had 60, now 0)"),
				     "%s", p.items[i].warning ? p.items[i].warning : "(no warning)");
		else
			TL_CHECK(!p.items[i].warning);
	}
	ft_plan_free(&p, cfg);
	ft_teardown(&e);

	/* a keyless target that holds rows this task did not write: the run refuses */
	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, NULL));
	{
		const char *row[2] = {"1", "foreign"};
		TL_CHECK(tl_fake_insert(e.dst, "s", "nokey", row) == 0);
	}
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "s.nokey") && strstr(err.message, "restart needed"), "%s", err.message);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_WRITE_BATCH), 0);
	ft_teardown(&e);
}

/* ape-dts' database store (from_db): read at start, written at every checkpoint, --init-free. */
TL_TEST(ape_store_source_and_recorder)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char extra[512];

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0);
	snprintf(extra, sizeof(extra),
		 "[filter]\ndo_dbs=none\ndo_tbs=s.keyed,s.comp\n[resumer]\nresume_type=from_db\ndb_type=fake\nurl=%s\n",
		 e.dst_url);
	TL_CHECK(ft_task(&e, extra) != NULL);
	TL_CHECK(tl_fake_ape_put(e.dst, "apecloud_metadata", "apedts_task_position", "t1", "SnapshotDoing", "s-keyed",
				 "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"keyed\",\"order_key\":{\"single\":[\"id\",\"45\"]}}") ==
		 0);
	TL_CHECK(tl_fake_ape_put(e.dst, "apecloud_metadata", "apedts_task_position", "t1", "SnapshotFinished", "s-comp",
				 "{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"comp\"}") == 0);
	prefill(&e, "keyed", 45);
	prefill(&e, "comp", ROWS);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK(tl_fake_same_rows(e.src, e.dst, "s", "comp", err.message, sizeof(err.message)));
	TL_CHECK(tl_fake_same_rows(e.src, e.dst, "s", "keyed", err.message, sizeof(err.message)));
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), ROWS - 45);
	/* the recorder wrote keyed's progress and its finish into ape-dts' table */
	TL_CHECK(tl_fake_calls(e.dst, TL_SLOT_APE_STORE_PUT) >= 2);
	/* the two seeded rows (keyed's updated) and keyed's SnapshotFinished */
	TL_CHECK_EQ_INT(tl_fake_ape_rows(e.dst, "t1"), 3);
	ft_teardown(&e);
}
