# Shared by bench/ws-fanout and bench/ws-boards: a live stack (its own PostgreSQL and Kafka
# on free ports, the producer, the bridge and the API server), CPU and RSS sampling from
# /proc, and one load run of bench/ws-load summarised as "LABEL name value" lines.
# Source after scripts/lib/services.sh; set `connections` (the most the API must accept).

state=$(mktemp -d "${TMPDIR:-/tmp}/tickerflow-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  kafka_stop "$state/kafka" || true
  postgres_stop "$state/postgres" remove || true
  rm -rf "$state"
}
trap cleanup EXIT

bin=$root/build/services

# start_stack PRODUCER_INTERVAL_MS: everything up, every ticker seen by the API server.
start_stack() {
  pg_port=$(free_port); kafka_port=$(free_port); controller_port=$(free_port); api_port=$(free_port)
  postgres_start "$state/postgres" "$pg_port"
  kafka_start "$state/kafka" "$kafka_port" "$controller_port"
  kafka_create_topic "127.0.0.1:$kafka_port" tickers 6 2>/dev/null
  export KAFKA_BROKERS=127.0.0.1:$kafka_port KAFKA_TOPIC=tickers
  owner_url=postgresql://tickerflow:tickerflow@127.0.0.1:$pg_port/tickerflow
  database_migrate "$owner_url"
  cd "$state"
  DATABASE_URL=$(role_url "$owner_url" bridge) "$bin/bridge/tickerflow-bridge" --admin-port 0 >"$state/bridge.log" 2>&1 &
  bridge_pid=$!; pids+=($bridge_pid)
  start_producer "$1"
  DATABASE_URL=$(role_url "$owner_url" api) "$bin/api/tickerflow-api" --admin-port 0 --port "$api_port" \
    --frontend-dir "$root/frontend/dist" --max-clients $((connections + 1000)) >"$state/api.log" 2>&1 &
  api_pid=$!; pids+=($api_pid)
  wait_for 30 "the API server" curl -sf "http://127.0.0.1:$api_port/api/tickers"
  sleep 5 # every ticker seen
  kafka_pid=$(cat "$state/kafka/kafka.pid")
  postmaster_pid=$(head -n 1 "$(pg_data_dir "$state/postgres")/postmaster.pid" 2>/dev/null || echo)
}

# start_producer INTERVAL_MS: (re)starts the producer, 100 tickers each moving every INTERVAL_MS.
start_producer() {
  if [ -n "${producer_pid:-}" ]; then kill "$producer_pid"; wait "$producer_pid" 2>/dev/null || true; fi
  DATABASE_URL=$(role_url "$owner_url" producer) "$bin/producer/tickerflow-producer" --admin-port 0 --interval-ms "$1" \
    >>"$state/producer.log" 2>&1 & producer_pid=$!
  pids+=($producer_pid)
}

# ticks PID...: CPU time (user + system, clock ticks) the processes have used so far.
ticks() {
  local pid total=0 stat
  for pid in "$@"; do
    read -r -a stat <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + stat[13] + stat[14]))
  done
  echo "$total"
}

# sample: epoch_ms cpu_ticks rss_kb of the API server, then the CPU ticks of the broker,
# PostgreSQL (all its processes), the producer and the bridge, every 0.5 s. Where the two
# cores go matters: every latency here is paid on a machine the load client shares.
sample() {
  while kill -0 "$api_pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$api_pid/status")
    echo "$(date +%s%3N) $(ticks "$api_pid") $rss $(ticks "$kafka_pid")" \
         "$(ticks $postmaster_pid $(pgrep -P "${postmaster_pid:-0}")) $(ticks "$producer_pid") $(ticks "$bridge_pid")"
    sleep 0.5
  done
}

# run_load N LABEL [WS-LOAD OPTIONS...]: prints ws-load's figures prefixed with LABEL, plus
# the CPU of each process and the API server's RSS (per connection: its growth over idle / N).
run_load() {
  local n=$1 label=$2
  shift 2
  local rss_idle
  rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$api_pid/status")
  sample >"$state/samples.$label" & local sampler=$!
  "$root/build/bench/ws-load" --port "$api_port" --connections "$n" --tickers 100 --measure-s "$measure_s" "$@" \
    >"$state/load.$label" & local load_pid=$!
  # BENCH_PROFILE=FILE: perf profiles of the API server (FILE) and of the load client
  # (FILE.client) under the load labelled BENCH_PROFILE_LABEL ("load") (needs linux-perf).
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$label" = "${BENCH_PROFILE_LABEL:-load}" ]; then
    (sleep 20
     perf record -g -p "$api_pid" -o "$state/perf.data" -- sleep 10 >/dev/null 2>&1 &
     perf record -g -p "$load_pid" -o "$state/perf-client.data" -- sleep 10 >/dev/null 2>&1
     wait
     perf report -i "$state/perf.data" --stdio --no-children --percent-limit 0.7 >"$BENCH_PROFILE" 2>/dev/null
     perf report -i "$state/perf-client.data" --stdio --no-children --percent-limit 0.7 \
       >"$BENCH_PROFILE.client" 2>/dev/null) &
  fi
  wait "$load_pid"
  kill "$sampler" 2>/dev/null || true
  local from until
  from=$(awk '/^measure_from_ms/ {print $2}' "$state/load.$label")
  until=$(awk '/^measure_until_ms/ {print $2}' "$state/load.$label")
  grep -v '^measure_' "$state/load.$label" | sed "s/^/$label /"
  awk -v from="$from" -v until="$until" -v idle="$rss_idle" -v n="$n" -v label="$label" -v hz="$(getconf CLK_TCK)" '
    $1 >= from && $1 <= until {
      if (!t0) { t0 = $1; c0 = $2; k0 = $4; g0 = $5; p0 = $6; b0 = $7 }
      t1 = $1; c1 = $2; k1 = $4; g1 = $5; p1 = $6; b1 = $7
      if ($3 > rss) rss = $3
    }
    END {
      seconds = (t1 - t0) / 1000
      printf "%s server_cpu_percent %.0f\n", label, (c1 - c0) / hz / seconds * 100
      printf "%s kafka_cpu_percent %.0f\n", label, (k1 - k0) / hz / seconds * 100
      printf "%s postgres_cpu_percent %.0f\n", label, (g1 - g0) / hz / seconds * 100
      printf "%s producer_cpu_percent %.0f\n", label, (p1 - p0) / hz / seconds * 100
      printf "%s bridge_cpu_percent %.0f\n", label, (b1 - b0) / hz / seconds * 100
      printf "%s server_rss_kb %d\n", label, rss
      printf "%s server_rss_idle_kb %d\n", label, idle
      printf "%s server_rss_per_connection_kb %.2f\n", label, (rss - idle) / n
    }' "$state/samples.$label"
}
