-- Non-snapshot records read from text sources (CDC positions such as MysqlCdc / PgCdc /
-- MongoCdc / Redis / Kafka, and any other ape-dts variant): tideline never uses them for a
-- snapshot, but keeps them so that `import` then `export` loses nothing. One row per
-- distinct (task, kind, exact JSON); the latest import wins for its time and origin.
CREATE TABLE other_record (
    task_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('current', 'checkpoint')),
    json       TEXT NOT NULL,
    type       TEXT,
    source     TEXT,
    line       INTEGER,
    updated_at TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (task_id, kind, json)
) WITHOUT ROWID;

CREATE INDEX other_record_by_seq ON other_record (task_id, seq);
