-- tickerflow schema. Applied by tickerflow-migrate (services/migrate) with the role that
-- owns the schema, in one transaction under an advisory lock, at every start of the stack,
-- so every statement must be idempotent. Later migrations append here with IF NOT EXISTS
-- guards and raise DB_SCHEMA_VERSION (common/db.h). The daemons' own roles get their
-- privileges from tickerflow-migrate too (docs/architecture.md, "Database roles").

-- The versions applied; each daemon checks at connect time that its own is there.
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER     PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

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

-- Downsampled history reads this rollup instead of raw rows: per ticker and 10-second
-- bucket (aligned to the Unix epoch), the min, max, last value and count of `records`.
-- A day of one ticker is 8,640 rows here against 86,400 or more in `records`. Kept by a
-- statement trigger in the same transaction as the rows, so it never disagrees with
-- `records`, whoever inserts (the bridge's COPY, psql, a restore). `records` is
-- append-only; after deleting or editing rows by hand, run SELECT records_10s_rebuild().
-- fillfactor 70: the current bucket of each ticker is updated at every batch; room on
-- the page keeps those updates HOT (no new index entry).
CREATE TABLE IF NOT EXISTS records_10s (
    name       VARCHAR(10) NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,  -- start of the bucket, a multiple of 10 s since the epoch
    min_value  INTEGER     NOT NULL,
    max_value  INTEGER     NOT NULL,
    last_time  TIMESTAMPTZ NOT NULL,  -- the bucket's newest row (by time, then id) ...
    last_id    BIGINT      NOT NULL,
    last_value INTEGER     NOT NULL,  -- ... and its value
    count      BIGINT      NOT NULL,
    PRIMARY KEY (name, bucket)
) WITH (fillfactor = 70);

-- The statement that merges a set of `records` rows (the relation named `source`) into
-- records_10s. One sort gives each bucket's newest row (DISTINCT ON) and its min/max/count
-- (the window). In (name, bucket) order, so two writers that touch the same buckets lock
-- them in the same order and cannot deadlock each other.
CREATE OR REPLACE FUNCTION records_10s_merge_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT format($merge$
    INSERT INTO records_10s AS r (name, bucket, min_value, max_value, last_time, last_id, last_value, count)
    SELECT DISTINCT ON (name, bucket) name, bucket, min(value) OVER b, max(value) OVER b, time, id, value,
           count(*) OVER b
    FROM (SELECT name, date_bin('10 seconds', time, timestamptz 'epoch') AS bucket, time, id, value FROM %I) a
    WINDOW b AS (PARTITION BY name, bucket)
    ORDER BY name, bucket, time DESC, id DESC
    ON CONFLICT (name, bucket) DO UPDATE SET
        min_value = least(r.min_value, excluded.min_value),
        max_value = greatest(r.max_value, excluded.max_value),
        count = r.count + excluded.count,
        last_time = CASE WHEN (excluded.last_time, excluded.last_id) > (r.last_time, r.last_id)
                         THEN excluded.last_time ELSE r.last_time END,
        last_id = CASE WHEN (excluded.last_time, excluded.last_id) > (r.last_time, r.last_id)
                       THEN excluded.last_id ELSE r.last_id END,
        last_value = CASE WHEN (excluded.last_time, excluded.last_id) > (r.last_time, r.last_id)
                          THEN excluded.last_value ELSE r.last_value END
    $merge$, source)
$$;

-- The trigger: merges the rows one INSERT or COPY statement added (its transition table,
-- visible to EXECUTE in this function only).
CREATE OR REPLACE FUNCTION records_10s_merge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE records_10s_merge_sql('added');
    RETURN NULL;
END $$;

-- Recomputes records_10s from `records`; returns the number of buckets. For the upgrade
-- below, after bulk loads with the trigger disabled, and after editing `records` by hand.
CREATE OR REPLACE FUNCTION records_10s_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    buckets bigint;
BEGIN
    LOCK TABLE records IN SHARE MODE;  -- no insert may slip between the two statements
    TRUNCATE records_10s;
    EXECUTE records_10s_merge_sql('records');
    GET DIAGNOSTICS buckets = ROW_COUNT;
    RETURN buckets;
END $$;

-- Created once; creating it (which locks out inserts until this transaction commits)
-- also fills the rollup from the rows a database of an older version already holds.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'records_10s_rollup'
                   AND tgrelid = 'records'::regclass) THEN
        CREATE TRIGGER records_10s_rollup AFTER INSERT ON records
            REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION records_10s_merge();
        RAISE NOTICE 'records_10s: % buckets from existing records', records_10s_rebuild();
    END IF;
END $$;

-- Per-minute candles per ticker, written only by the aggregator (services/aggregator):
-- event-time windows [ts_start, ts_end) aligned to the Unix epoch. up_moves/down_moves
-- count the ticks that moved the ticker up/down from its tick before (which may lie in
-- the previous minute), so they add up exactly when rolled up to larger intervals.
-- A candle is written when its minute closes and rewritten (whole, never added to) when a
-- late tick corrects it; docs/architecture.md explains the watermark.
CREATE TABLE IF NOT EXISTS candles_1m (
    ts_start   TIMESTAMPTZ NOT NULL,
    ts_end     TIMESTAMPTZ NOT NULL,
    name       VARCHAR(10) NOT NULL,
    open       INTEGER     NOT NULL,
    high       INTEGER     NOT NULL,
    low        INTEGER     NOT NULL,
    close      INTEGER     NOT NULL,
    up_moves   INTEGER     NOT NULL,
    down_moves INTEGER     NOT NULL,
    ticks      INTEGER     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (ts_start, name)
);

-- The candles endpoint reads one ticker's range.
CREATE INDEX IF NOT EXISTS candles_1m_name_ts_start_idx ON candles_1m (name, ts_start);

-- Each aggregator group's state per partition, written in the same transaction as the
-- candles it covers. next_offset: the next message not yet reflected in candles_1m.
-- replay_offset: the oldest message of a window still taking corrections; a restarted
-- aggregator reads again from there, with newest_event (the watermark's source), to
-- rebuild exactly the windows it held.
CREATE TABLE IF NOT EXISTS aggregator_offsets (
    group_id      TEXT        NOT NULL,
    topic         TEXT        NOT NULL,
    partition     INTEGER     NOT NULL,
    next_offset   BIGINT      NOT NULL,
    replay_offset BIGINT      NOT NULL,
    newest_event  TIMESTAMPTZ,           -- NULL until the partition had a valid tick
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Per ticker, the last tick of its windows that no longer take corrections: the first
-- move of its next window is measured from it (see up_moves above).
CREATE TABLE IF NOT EXISTS aggregator_anchors (
    group_id   TEXT        NOT NULL,
    topic      TEXT        NOT NULL,
    partition  INTEGER     NOT NULL,
    name       VARCHAR(10) NOT NULL,
    tick_time  TIMESTAMPTZ NOT NULL,
    value      INTEGER     NOT NULL,
    PRIMARY KEY (group_id, topic, partition, name)
);

-- Candles of one ticker rolled up from candles_1m to `bucket` (1 minute to 1 day, aligned
-- to the Unix epoch), for the buckets that overlap [range_start, range_end). Open is the
-- first minute's, close the last's; moves and ticks add up (see candles_1m). Used by the
-- API's /candles endpoint and by the Grafana dashboard, so both show the same thing.
CREATE OR REPLACE FUNCTION candles_rollup(ticker text, bucket interval, range_start timestamptz,
                                          range_end timestamptz)
RETURNS TABLE (ts_start timestamptz, ts_end timestamptz, open integer, high integer, low integer, close integer,
               up_moves bigint, down_moves bigint, ticks bigint)
LANGUAGE sql STABLE AS $$
    SELECT b, b + bucket, (array_agg(c.open ORDER BY c.ts_start))[1], max(c.high), min(c.low),
           (array_agg(c.close ORDER BY c.ts_start DESC))[1], sum(c.up_moves), sum(c.down_moves), sum(c.ticks)
    FROM candles_1m c, date_bin(bucket, c.ts_start, timestamptz 'epoch') AS b
    WHERE c.name = ticker
      AND c.ts_start >= date_bin(bucket, range_start, timestamptz 'epoch') AND c.ts_start < range_end
    GROUP BY b
    ORDER BY b
$$;

-- One row per market trade, written only by a bridge of kind trades (bridge.kind): the
-- records of the trades topic, exactly once, in the transactions that hold the offsets.
-- Prices and volumes are NUMERIC with the text the feed sent (never a binary float), so
-- sums over them are exact; trade_id is the exchange's, when the feed gives one.
CREATE TABLE IF NOT EXISTS trades (
    id            BIGSERIAL   PRIMARY KEY,
    exchange      TEXT        NOT NULL,
    base          TEXT        NOT NULL,
    quote         TEXT        NOT NULL,
    currency_pair TEXT        GENERATED ALWAYS AS (base || '/' || quote) STORED,
    direction     TEXT        NOT NULL CHECK (direction IN ('buy', 'sell')),
    price         NUMERIC     NOT NULL CHECK (price > 0),
    volume        NUMERIC     NOT NULL CHECK (volume >= 0),
    price_usd     NUMERIC,
    time          TIMESTAMPTZ NOT NULL,
    trade_id      BIGINT
);

-- A pair's trades over a range, and its latest ones.
CREATE INDEX IF NOT EXISTS trades_pair_time_idx ON trades (currency_pair, time);

-- Version 5: each trade's place in the topic (its partition and offset, written by the
-- bridge with the row). A pair's trades are keyed to one partition, so their offsets give
-- the order the stream delivers them in: the positions that WebSocket subscriptions to a pair
-- resume from (docs/api.md). NULL for trades stored by an earlier version.
ALTER TABLE trades ADD COLUMN IF NOT EXISTS kafka_partition INTEGER;
ALTER TABLE trades ADD COLUMN IF NOT EXISTS kafka_offset BIGINT;
CREATE INDEX IF NOT EXISTS trades_pair_offset_idx ON trades (currency_pair, kafka_offset);

-- Per currency pair and minute, written only by an aggregator of kind trades
-- (aggregator.kind): event-time windows [ts_start, ts_end) aligned to the Unix epoch, with
-- the watermark rules of candles_1m. The price of the window's first and last trade (in
-- event-time order; equal times in the topic's order, which is trades.id's), the highest and
-- lowest, and how many trades. NUMERIC with the trades' own digits.
CREATE TABLE IF NOT EXISTS candlesticks (
    ts_start      TIMESTAMPTZ NOT NULL,
    ts_end        TIMESTAMPTZ NOT NULL,
    currency_pair TEXT        NOT NULL,
    price_open    NUMERIC     NOT NULL,
    price_max     NUMERIC     NOT NULL,
    price_min     NUMERIC     NOT NULL,
    price_close   NUMERIC     NOT NULL,
    trades        INTEGER     NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (ts_start, ts_end, currency_pair)
);
CREATE INDEX IF NOT EXISTS candlesticks_pair_ts_start_idx ON candlesticks (currency_pair, ts_start);

-- The same windows' volumes: the sums of `volume` of the trades whose aggressor bought and
-- sold (0 when none), exact (equal to sum(volume) over trades, digit for digit), and their counts.
CREATE TABLE IF NOT EXISTS volumes (
    ts_start      TIMESTAMPTZ NOT NULL,
    ts_end        TIMESTAMPTZ NOT NULL,
    currency_pair TEXT        NOT NULL,
    volume_buy    NUMERIC     NOT NULL,
    volume_sell   NUMERIC     NOT NULL,
    trades_buy    INTEGER     NOT NULL,
    trades_sell   INTEGER     NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (ts_start, ts_end, currency_pair)
);
CREATE INDEX IF NOT EXISTS volumes_pair_ts_start_idx ON volumes (currency_pair, ts_start);

-- One pair's candlesticks and volumes rolled up from the one-minute rows to `bucket` (1 minute
-- to 1 day, aligned to the Unix epoch), for the buckets that overlap [range_start, range_end):
-- open is the first minute's, close the last's, max and min over the minutes, volumes and
-- counts added up (exactly: NUMERIC).
CREATE OR REPLACE FUNCTION candlesticks_rollup(pair text, bucket interval, range_start timestamptz,
                                               range_end timestamptz)
RETURNS TABLE (ts_start timestamptz, ts_end timestamptz, price_open numeric, price_max numeric,
               price_min numeric, price_close numeric, trades bigint, volume_buy numeric, volume_sell numeric)
LANGUAGE sql STABLE AS $$
    SELECT b, b + bucket, (array_agg(c.price_open ORDER BY c.ts_start))[1], max(c.price_max), min(c.price_min),
           (array_agg(c.price_close ORDER BY c.ts_start DESC))[1], sum(c.trades), sum(v.volume_buy),
           sum(v.volume_sell)
    FROM candlesticks c
    LEFT JOIN volumes v USING (ts_start, ts_end, currency_pair),
    date_bin(bucket, c.ts_start, timestamptz 'epoch') AS b
    WHERE c.currency_pair = pair
      AND c.ts_start >= date_bin(bucket, range_start, timestamptz 'epoch') AND c.ts_start < range_end
    GROUP BY b
    ORDER BY b
$$;
