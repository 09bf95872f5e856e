-- 0002_other_records.sql (PostgreSQL) - as ../0002_other_records.sql: non-snapshot records
-- read from text sources (CDC positions and other ape-dts variants), kept so that
-- `import` then `export` loses nothing. One row per distinct (task, kind, exact JSON): the
-- uniqueness goes through md5(json), since a B-tree key is limited to about 2.7 kB.
CREATE TABLE other_record (
    task_id    text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL CHECK (kind IN ('current', 'checkpoint')),
    json       text NOT NULL,
    type       text,
    source     text,
    line       bigint,
    updated_at text NOT NULL,
    seq        bigint NOT NULL
);

CREATE UNIQUE INDEX other_record_key ON other_record (task_id, kind, md5(json));
CREATE INDEX other_record_by_seq ON other_record (task_id, seq);
