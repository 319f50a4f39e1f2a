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
