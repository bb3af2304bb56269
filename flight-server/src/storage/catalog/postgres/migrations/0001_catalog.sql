-- The PostgreSQL catalog (catalog/postgres/): the same model as the file catalog's version log.
-- A dataset is a sequence of versions; a data file row carries the version that added it and the
-- one that removed it (as DuckLake's ducklake_data_file does), so a commit writes rows in
-- proportion to its own change and any version's files are one indexed query.

CREATE TABLE flightdeck.datasets (
  dataset_id     bigserial PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- The vacuum horizon: the oldest version as_of can read.
  oldest_version bigint NOT NULL DEFAULT 0
);

CREATE TABLE flightdeck.versions (
  dataset_id   bigint NOT NULL REFERENCES flightdeck.datasets (dataset_id) ON DELETE CASCADE,
  version      bigint NOT NULL CHECK (version >= 0),
  committed_at text NOT NULL,
  operation    text NOT NULL,
  -- The schema and settings (time/key columns, partition, fields, added columns, retention) when
  -- this version changed them, always at version 0 and at the vacuum horizon; else null.
  meta         jsonb,
  -- Two writers racing for one version: this key lets exactly one commit.
  PRIMARY KEY (dataset_id, version)
);

CREATE TABLE flightdeck.data_files (
  dataset_id  bigint NOT NULL REFERENCES flightdeck.datasets (dataset_id) ON DELETE CASCADE,
  -- Relative to the dataset's directory (or prefix), e.g. date=2024-01-02/part-….parquet.
  path        text NOT NULL,
  added_in    bigint NOT NULL,
  removed_in  bigint,
  partition   text NOT NULL,
  row_count   bigint NOT NULL,
  byte_count  bigint NOT NULL,
  min_time_ns bigint NOT NULL,
  max_time_ns bigint NOT NULL,
  -- The first key column's smallest and largest value when it is a string.
  min_key     text,
  max_key     text,
  columns     jsonb NOT NULL,
  -- Per row group: rows, min/max time, min/max key (the readers' pruning statistics).
  row_groups  jsonb NOT NULL,
  -- The uncompressed Arrow IPC copy (key runs in its schema metadata), when written.
  ipc_path    text,
  ipc_bytes   bigint,
  PRIMARY KEY (dataset_id, path),
  CHECK (removed_in IS NULL OR removed_in > added_in)
);

CREATE INDEX data_files_live ON flightdeck.data_files (dataset_id) WHERE removed_in IS NULL;
CREATE INDEX data_files_added ON flightdeck.data_files (dataset_id, added_in);
CREATE INDEX data_files_removed ON flightdeck.data_files (dataset_id, removed_in) WHERE removed_in IS NOT NULL;
