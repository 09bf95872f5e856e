/*
 * resume.h - merging progress records with ape-dts precedence (docs/ape-dts-resume.md §3.2).
 *
 * A tl_resume_set holds, per exact (schema, tb): the last "current" position, the last
 * "checkpoint" position and whether the table is finished, each with its origin (source
 * path and line). Records are added in reading order (resume.config, then position logs
 * oldest first, then finished.log; a later record of the same kind replaces the earlier
 * one, even when it has no key). Lookup applies the precedence:
 *   finished (from any source) > batch mode: current, else checkpoint
 *                               > split mode: checkpoint only.
 * Non-snapshot variants are counted in `other` and otherwise ignored.
 * The set owns copies of everything added. Not thread-safe.
 */
#ifndef TL_RESUME_H
#define TL_RESUME_H

#include <stddef.h>
#include "tideline/error.h"
#include "tideline/position.h"

typedef struct tl_resume_set tl_resume_set;

typedef struct tl_origin {
	const char *source; /* file path, "run", "store", "ape-dts table …" */
	long line;          /* 1-based line in source, 0 when not a file */
} tl_origin;

/* One entry as stored in the set; pointers are lent and live as long as the set. */
typedef struct tl_resume_entry {
	const char *schema;
	const char *tb;
	int finished;
	tl_origin finished_from;
	const tl_position *finished_pos;   /* the RdbSnapshotFinished record, NULL if not finished */
	const tl_position *current;        /* NULL when none */
	tl_origin current_from;
	const tl_position *checkpoint;     /* NULL when none */
	tl_origin checkpoint_from;
} tl_resume_entry;

enum tl_resume_state { TL_RESUME_NONE = 0, TL_RESUME_FINISHED, TL_RESUME_POSITION };

int tl_resume_set_new(tl_resume_set **out, tl_error *err) TL_MUST_CHECK;
void tl_resume_set_free(tl_resume_set *s);

/* Adds one record. is_current is ignored for finished records. */
int tl_resume_add(tl_resume_set *s, const tl_position *p, int is_current, const char *source,
		  long line, tl_error *err) TL_MUST_CHECK;

/* Reads a file with tl_logfmt_read_file and adds every usable line (on_bad as there). */
int tl_resume_add_file(tl_resume_set *s, const char *path, int lenient, size_t *nbad, tl_error *err) TL_MUST_CHECK;

/*
 * Looks up a table. checkpoint_only selects split-mode precedence. Returns the state;
 * for TL_RESUME_POSITION *pos and *from are set (lent from the set).
 */
enum tl_resume_state tl_resume_lookup(const tl_resume_set *s, const char *schema, const char *tb,
				      int checkpoint_only, const tl_position **pos, tl_origin *from);

/* A non-snapshot record (CDC and other variants) kept as read; lent, lives as long as the set. */
typedef struct tl_resume_other {
	const tl_position *pos; /* type TL_POS_OTHER, raw_json set */
	int is_current;
	tl_origin from;
} tl_resume_other;

/* Kept non-snapshot records in reading order ({"type":"None"} lines are not kept). */
size_t tl_resume_kept_count(const tl_resume_set *s);
const tl_resume_other *tl_resume_kept_at(const tl_resume_set *s, size_t i);

size_t tl_resume_count(const tl_resume_set *s);
size_t tl_resume_other_count(const tl_resume_set *s);
/* Iterates entries in insertion order of their first record; i < tl_resume_count. */
const tl_resume_entry *tl_resume_at(const tl_resume_set *s, size_t i);

#endif
