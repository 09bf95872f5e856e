/*
 * fake_task.h - running tideline tasks against fake servers in unit tests: a source and
 * a target fake server, the standard tables of the engine tests, a task file in the
 * test's temporary directory, and run / plan entry points that load the task with the
 * fake registry. Test code.
 */
#ifndef TL_FAKE_TASK_H
#define TL_FAKE_TASK_H

#include "fakes/fake_driver.h"
#include "migrate/migrate.h"

typedef struct ft_env {
	tl_fake_db *src, *dst;
	char src_url[64], dst_url[64];
	char dir[4096];  /* the test's temporary directory */
	char ini[4200];  /* the last task file written */
} ft_env;

/* Fresh source and target servers (unique names) in the test's temporary directory. 0 or -1. */
int ft_setup(ft_env *e);
void ft_teardown(ft_env *e);

/*
 * The standard tables, each filled on the source and created empty on the target:
 *   s.keyed  id int key, v text null          rows id 1..n (every 7th v NULL)
 *   s.comp   a int key, b int key, v text     a 1..n/10+1 × b 1..10, cut to n rows
 *   s.nuk    u int key null, v text           u 1..n, plus n/8+1 rows with u NULL
 *   s.nokey  x int null, v text               n rows, x repeats (i % (n/3)), every 9th NULL
 *   s.tkey   k text key, v int                k "k0001".., n rows
 * Returns 0 or -1.
 */
int ft_standard_tables(ft_env *e, int n);
/* The names of the standard tables (NULL-terminated). */
extern const char *const ft_tables[];

/*
 * A whole-database task: ft_setup, the standard tables of n rows on the source only (the
 * target holds none of them), and a task of the "fakeddl" kind (definitions made by the
 * run) with the INI text `extra` (may be NULL). Returns 0 or -1.
 */
int ft_empty_target(ft_env *e, int n, const char *extra);

/*
 * Writes the task file TASK.ini: fake source and target, do_dbs=s, resume_type=from_log
 * with log_dir DIR/logs, checkpoint_interval_secs=0, [extractor] batch_size=7, then the
 * INI text `extra` (whole lines, may re-open sections to override). Returns e->ini.
 */
const char *ft_task(ft_env *e, const char *extra);

/* Runs the task of e->ini (config loaded with the fake registry); fault may be NULL. */
int ft_run(ft_env *e, tl_fault *fault, tl_error *err);
/* The same with the caller's options (stop flag, --recopy-lost, a logger, ...); the
 * registry is set to the fake one. */
int ft_run_opts(ft_env *e, tl_migrate_opts *opts, tl_error *err);
/* Runs the task of e->ini as `run --worker NAME` (text logs in <log_dir>/NAME); stop may be NULL. */
int ft_run_worker(ft_env *e, const char *worker, volatile sig_atomic_t *stop, tl_error *err);
/* Builds the plan of e->ini the way `tideline plan` does (on the task's store). */
int ft_plan(ft_env *e, tl_plan *out, tl_config **cfg_out, tl_error *err);
void ft_plan_free(tl_plan *p, tl_config *cfg);

/* Every standard table row-exact on the target (nothing lost, nothing twice); 1 or 0 with why. */
int ft_all_same(ft_env *e, char *why, size_t n);

/* Writes a text file DIR/name; returns its path (static buffer) or NULL. */
const char *ft_write(ft_env *e, const char *name, const char *text);

/*
 * A routed table: s.r (id int key, a text, b int null, c text null) on the source with
 * `rows` rows (id i, a "a<i>", b 2i, c "secret"), its target d.rr (id, aa, b, c) empty,
 * and the task file with `extra` (FT_ROUTE routes s.r to d.rr, a as aa, c ignored). 0 or -1.
 */
int ft_setup_routed(ft_env *e, int rows, const char *extra);
#define FT_ROUTE                                                                                                 \
	"[router]\ntb_map=s.r:d.rr\ncol_map=json:[{\"db\":\"s\",\"tb\":\"r\",\"col_map\":{\"a\":\"aa\"}}]\n" \
	"[filter]\nignore_cols=json:[{\"db\":\"s\",\"tb\":\"r\",\"ignore_cols\":[\"c\"]}]\n"
/* Every row of s.r is on d.rr with a as aa, b as b, and c left NULL (its default); 1 or 0 with why. */
int ft_routed_same(ft_env *e, int rows, char *why, size_t n);

#endif
