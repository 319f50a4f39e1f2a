-- tickerflow schema. Applied at every daemon start (under an advisory lock), so every
-- statement must be idempotent. Later migrations append here with IF NOT EXISTS guards.

-- One row per ticker change, written only by the bridge.
CREATE TABLE IF NOT EXISTS records (
    id    BIGSERIAL   PRIMARY KEY,
    name  VARCHAR(10) NOT NULL,
    time  TIMESTAMPTZ NOT NULL,
    value INTEGER     NOT NULL
);

-- History queries and "latest value per ticker" both walk this index.
CREATE INDEX IF NOT EXISTS records_name_time_idx ON records (name, time);

-- The bridge's consumed positions, written in the same transaction as the rows they
-- cover: what is in `records` and where to read next can never disagree. The bridge
-- seeks to these on every assignment; Kafka's committed offsets are only a monitoring aid.
CREATE TABLE IF NOT EXISTS bridge_offsets (
    topic       TEXT        NOT NULL,
    partition   INTEGER     NOT NULL,
    next_offset BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- Messages the bridge could not store: undecodable or invalid ones, and rows PostgreSQL
-- rejected. Kept byte for byte with the reason, so nothing accepted from Kafka is lost.
CREATE TABLE IF NOT EXISTS dead_letters (
    id              BIGSERIAL   PRIMARY KEY,
    topic           TEXT        NOT NULL,
    partition       INTEGER     NOT NULL,
    kafka_offset    BIGINT      NOT NULL,
    kafka_timestamp TIMESTAMPTZ,           -- the message's Kafka timestamp, if it had one
    payload         BYTEA       NOT NULL,  -- the raw message value (empty for a null value)
    error           TEXT        NOT NULL,
    stored_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
