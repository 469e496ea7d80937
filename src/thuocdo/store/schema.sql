-- Catalogue of the lake: a Parquet file is part of the store exactly when it is listed here.
CREATE TABLE IF NOT EXISTS lake_files (
    path      VARCHAR PRIMARY KEY,   -- relative to the lake folder
    dataset   VARCHAR NOT NULL,      -- person_day | record_keys | person_month[_patch] | person_week[_patch] | sketch_day
    source    VARCHAR NOT NULL,
    month     VARCHAR NOT NULL,      -- YYYY-MM (Asia/Ho_Chi_Minh)
    day       DATE,                  -- NULL for monthly datasets; the week's Monday for person_week[_patch]
    batch_id  VARCHAR NOT NULL,
    rows      BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id     VARCHAR PRIMARY KEY,
    source       VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,   -- usage | weights | aggregates | quarantine
    file         VARCHAR,
    file_sha256  VARCHAR,
    committed_at TIMESTAMP NOT NULL,
    rows_read    BIGINT NOT NULL,
    stored       BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    rejected     BIGINT NOT NULL
);
-- A usage batch's rows per local day of activity (Asia/Ho_Chi_Minh): its good rows, how many of them were stored
-- (the others repeated a stored record or an earlier row of the batch) and its rejected rows (day NULL: rejected
-- rows without a readable time, and lines that could not be read). Written with the batch; read by the quality
-- monitor (thuocdo.metrics.quality). Batches of stores older than this table have no rows here.
CREATE TABLE IF NOT EXISTS batch_days (
    batch_id VARCHAR NOT NULL,
    source   VARCHAR NOT NULL,
    day      DATE,
    good     BIGINT NOT NULL,
    stored   BIGINT NOT NULL,
    rejected BIGINT NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS quarantine_ids START 1;
CREATE TABLE IF NOT EXISTS quarantine (
    id          BIGINT PRIMARY KEY DEFAULT nextval('quarantine_ids'),
    batch_id    VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    file        VARCHAR,
    line        BIGINT,
    record      VARCHAR,             -- JSON of the row, user_id replaced by its keyed hash
    problems    VARCHAR NOT NULL,    -- JSON list of {"field", "message"}
    status      VARCHAR NOT NULL,    -- open | resolved
    created_at  TIMESTAMP NOT NULL,
    resolved_by VARCHAR,
    fingerprint VARCHAR NOT NULL       -- the same rejected row sent twice is kept once
);
CREATE TABLE IF NOT EXISTS weights (
    source   VARCHAR NOT NULL,
    person   BIGINT NOT NULL,
    month    VARCHAR NOT NULL,
    weight   DOUBLE NOT NULL,
    batch_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS aggregates (
    source   VARCHAR NOT NULL,
    platform VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    metric   VARCHAR NOT NULL,
    value    DOUBLE NOT NULL,
    batch_id VARCHAR NOT NULL
);
-- Months whose rollups must be rebuilt before they are read (set in the same transaction as the change).
CREATE TABLE IF NOT EXISTS dirty_months (
    source VARCHAR NOT NULL,
    month  VARCHAR NOT NULL,
    PRIMARY KEY (source, month)
);
-- Persons whose person-days of a dirty month changed (set with the month by ingestion and by the inbox's merges):
-- the month's rollup recomputes only their person-months when they are few. A writer that changes person-days
-- must list the persons it touched here, or one row with a NULL person (every person of the month). A dirty
-- month without any row, or with a NULL person, is rebuilt whole (a change of weights needs no more).
CREATE TABLE IF NOT EXISTS dirty_persons (
    source VARCHAR NOT NULL,
    month  VARCHAR NOT NULL,
    person BIGINT
);
-- Weekly active persons per source x platform x week (its Monday, Asia/Ho_Chi_Minh) x province, weighted by the
-- month of the week's Thursday (thuocdo.rollups.definitions.usage_week_sql): the metric queries' `wau`. Kept with
-- usage_month by the rollup of a month, for the weeks overlapping it: those of the days its changes touched
-- (dirty_weeks, set with the persons), or all of them. usage_week_months lists the months whose weeks were
-- computed (a store older than this table computes the others' once, before anything reads them).
CREATE TABLE IF NOT EXISTS usage_week (
    source     VARCHAR NOT NULL,
    platform   VARCHAR NOT NULL,
    week       DATE NOT NULL,
    province   VARCHAR,
    persons    BIGINT NOT NULL,
    w_persons  DOUBLE NOT NULL,
    w2_persons DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS dirty_weeks (
    source VARCHAR NOT NULL,
    week   DATE NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_week_months (
    source VARCHAR NOT NULL,
    month  VARCHAR NOT NULL,
    PRIMARY KEY (source, month)
);
-- Rollup per source x platform x month x province, weighted; the metric queries read only this.
CREATE TABLE IF NOT EXISTS usage_month (
    source        VARCHAR NOT NULL,
    platform      VARCHAR NOT NULL,
    month         VARCHAR NOT NULL,
    province      VARCHAR,
    persons       BIGINT NOT NULL,   -- unweighted active persons (sample size)
    w_persons     DOUBLE NOT NULL,   -- sum of weights of active persons
    w2_persons    DOUBLE NOT NULL,   -- sum of squared weights (effective sample size)
    w_active_days DOUBLE NOT NULL,   -- sum of weight x active days
    w_seconds     DOUBLE NOT NULL,
    w_bytes       DOUBLE NOT NULL,
    w_sessions    DOUBLE NOT NULL,
    w_installs    DOUBLE NOT NULL
);
-- Records accepted through the HTTP API and not yet merged into the lake. Each one is already validated,
-- pseudonymised and checked against the stored keys; the inbox is merged into the day partitions in the
-- background and before anything reads the records (metrics, file ingestion of the same source).
-- Each committed group of batches is one Arrow file (a segment) under lake/inbox/, listed here.
CREATE SEQUENCE IF NOT EXISTS inbox_seq START 1;
CREATE TABLE IF NOT EXISTS inbox_segments (
    seq    BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    path   VARCHAR NOT NULL,   -- relative to the lake
    rows   BIGINT NOT NULL,
    months VARCHAR[] NOT NULL  -- of its records
);
-- Rows accepted by earlier versions, which wrote the inbox as a table; merged like the segments.
CREATE TABLE IF NOT EXISTS inbox (
    seq              BIGINT NOT NULL DEFAULT nextval('inbox_seq'),
    source           VARCHAR NOT NULL,
    batch_id         VARCHAR NOT NULL,
    person           BIGINT NOT NULL,
    platform         VARCHAR NOT NULL,
    day              DATE NOT NULL,
    month            VARCHAR NOT NULL,
    active_seconds_n BIGINT NOT NULL,
    bytes_n          BIGINT NOT NULL,
    sessions_n       BIGINT NOT NULL,
    installs_n       BIGINT NOT NULL,
    province_code    VARCHAR,
    k1               UBIGINT NOT NULL,
    k2               UBIGINT NOT NULL
);
-- Every write through the HTTP API: who (key id and role), what (action, source or entity, batch), when and
-- how many rows, written in the same transaction as the data.
CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    id         BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    "at"       TIMESTAMP NOT NULL,
    key_id     VARCHAR,
    role       VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,     -- usage | weights | aggregates | indicators | sources
    target     VARCHAR NOT NULL,     -- the source or the entity written to
    batch_id   VARCHAR,
    received   BIGINT NOT NULL,
    stored     BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected   BIGINT NOT NULL,
    client     VARCHAR
);
-- A segment whose merge into the lake failed on its own is set aside with the reason (NULL: not held).
ALTER TABLE inbox_segments ADD COLUMN IF NOT EXISTS held VARCHAR;
-- Sources declared (`thuocdo sources declare`); a source with data that was never declared is not listed here
-- (thuocdo.store.sources infers its kind). link_key: how its persons are keyed (thuocdo.ingest.pseudonymise).
CREATE TABLE IF NOT EXISTS sources (
    name        VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,    -- census | panel | aggregates
    link_key    VARCHAR NOT NULL,    -- shared | private
    declared_at TIMESTAMP NOT NULL,  -- when the kind or the link key was last set
    declared_by VARCHAR
);
-- The persons a census source can see: its subscribers per province (34-unit code, as the records have it)
-- and month.
CREATE TABLE IF NOT EXISTS coverage (
    source      VARCHAR NOT NULL,
    province    VARCHAR NOT NULL,
    month       VARCHAR NOT NULL,    -- YYYY-MM
    subscribers BIGINT NOT NULL,
    PRIMARY KEY (source, province, month)
);
