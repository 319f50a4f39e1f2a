# Starts and stops the real services tickerflow needs, for scripts/run and scripts/test:
# a throwaway PostgreSQL (initdb in a state folder) and a single-node Apache Kafka broker
# in KRaft mode from the official jars (tools/kafka/pom.xml, fetched by Maven).
# Source this file; every function logs to stderr and returns non-zero on failure.

TICKERFLOW_ROOT=${TICKERFLOW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

say() { printf '\033[1m[tickerflow]\033[0m %s\n' "$*" >&2; }

# debian_missing PACKAGE...: prints the ones not installed, one per line.
debian_missing() {
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
  done
}

# apt_install PACKAGE...: installs them from Debian (nothing to do without arguments).
apt_install() {
  [ $# -gt 0 ] || return 0
  say "installing Debian packages: $*"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# watch_offsets URL TABLE TOTAL PID: waits until the next_offset column of TABLE sums to
# TOTAL, watching from one PostgreSQL session that polls every 10 ms (a psql per look took
# ~15% of the machine from the daemon being measured; a PL/pgSQL loop sees each commit, as
# every statement takes a new snapshot). Prints "FIRST_MS FIRST END_MS": when progress
# first showed, how much there was then, and when all of it was there (ms since the epoch).
# Fails, saying why, when the watch fails or process PID exits first. For the benchmarks.
watch_offsets() {
  local url=$1 table=$2 total=$3 pid=$4 out watcher result
  out=$(mktemp)
  psql "$url" -qAt >"$out" 2>&1 <<SQL &
DO \$\$
DECLARE done bigint; first_done bigint := 0; first_ms bigint := 0;
BEGIN
  LOOP
    SELECT coalesce(sum(next_offset), 0) INTO done FROM $table;
    IF first_ms = 0 AND done > 0 THEN
      first_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      first_done := done;
    END IF;
    EXIT WHEN done >= $total;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RAISE NOTICE 'drained % % %', first_ms, first_done, (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
END
\$\$;
SQL
  watcher=$!
  while kill -0 "$watcher" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kill "$watcher"
      say "process $pid exited before $table covered $total messages"
      rm -f "$out"
      return 1
    fi
    sleep 0.2
  done
  result=$(sed -n 's/.*drained \([0-9]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p' "$out")
  [ -n "$result" ] || say "watching $table failed: $(cat "$out")"
  rm -f "$out"
  [ -n "$result" ] && echo "$result"
}

# promtool_path: prints the path of promtool, Prometheus' checker of configurations and
# metrics text, taken the first time from Debian's prometheus package into a cache folder
# (installing the package would also install and start a Prometheus server).
promtool_path() {
  if command -v promtool >/dev/null; then command -v promtool; return 0; fi
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/tickerflow/promtool
  if [ ! -x "$cache/promtool" ]; then
    say "extracting promtool from Debian's prometheus package"
    local download
    download=$(mktemp -d)
    if ! (cd "$download" && { apt-get download prometheus >/dev/null 2>&1 ||
                              { apt-get update -qq && apt-get download prometheus >/dev/null; }; }); then
      rm -rf "$download"
      return 1
    fi
    dpkg-deb -x "$download"/prometheus_*.deb "$download/root" &&
      mkdir -p "$cache" && cp "$download/root/usr/bin/promtool" "$cache/promtool"
    local rc=$?
    rm -rf "$download"
    [ $rc = 0 ] || return 1
  fi
  echo "$cache/promtool"
}

# Benchmarks over loopback measure the kernel's TCP path: say so when NAT rules (Docker's,
# typically left by a stopped dockerd) put every packet through connection tracking.
warn_if_nat_rules() {
  command -v iptables >/dev/null || return 0
  if iptables -t nat -S 2>/dev/null | grep -q -- '^-A'; then
    say "warning: NAT rules are loaded (iptables -t nat -S): every loopback packet goes through" \
        "connection tracking and the figures will be lower. Left by a stopped dockerd, they go with" \
        "'nft delete table ip nat; nft delete table ip filter' (only when no engine runs)."
  fi
}

# free_port: prints a TCP port nobody listens on (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.2 s.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then say "timed out after ${seconds}s waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# PostgreSQL refuses to run as root: as root, run its tools as the 'postgres' user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The cluster's folder for state folder DIR: DIR/pgdata, unless the postgres user cannot
# reach DIR (a root-owned 0700 folder, root's home): then a folder of its own, named
# after DIR, under /var/lib/postgresql.
pg_data_dir() {
  local dir=$1
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    echo "$dir/pgdata"
  else
    echo "/var/lib/postgresql/tickerflow-$(realpath -m "$dir" | md5sum | cut -c1-12)"
  fi
}

# postgres_start DIR PORT: initdb on first use, start on 127.0.0.1:PORT (TCP only), and
# create role and database 'tickerflow' (password 'tickerflow', the documented local default).
# That role owns the schema; it may create roles, so that tickerflow-migrate can make each
# daemon's own (database_migrate).
postgres_start() {
  local dir=$1 port=$2 data
  mkdir -p "$dir"
  data=$(pg_data_dir "$dir")
  if [ ! -f "$data/PG_VERSION" ]; then
    if [ "$(id -u)" = 0 ]; then mkdir -p "$data" && chown postgres: "$data" && chmod 700 "$data"; fi
    as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { say "initdb failed: see $dir/initdb.log"; return 1; }
  fi
  # Durability stays on (fsync): benchmarks and tests measure what users get.
  as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories= -c max_connections=200" start >/dev/null ||
    { say "PostgreSQL did not start: see $data/server.log"; return 1; }
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || return 1
SELECT 'CREATE ROLE tickerflow LOGIN PASSWORD ''tickerflow'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tickerflow') \gexec
ALTER ROLE tickerflow CREATEROLE;
SELECT 'CREATE DATABASE tickerflow OWNER tickerflow'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tickerflow') \gexec
SQL
}

# database_migrate OWNER_URL: applies the schema and the daemons' roles (tickerflow-migrate,
# built by scripts/build) to the database OWNER_URL names, as its owner.
database_migrate() {
  local daemon upper variable
  for daemon in producer bridge aggregator api reader; do
    upper=$(echo "$daemon" | tr '[:lower:]' '[:upper:]')
    variable=${upper}_DB_PASSWORD
    [ -z "${!variable:-}" ] || export "MIGRATE_${upper}_PASSWORD=${!variable}"
  done
  "${TICKERFLOW_BUILD_DIR:-$TICKERFLOW_ROOT/build}/services/migrate/tickerflow-migrate" --database-url "$1" \
    --log-level "${MIGRATE_LOG_LEVEL:-warn}"
}

# role_url URL DAEMON: URL with the user and password of DAEMON's role (tickerflow_DAEMON;
# its password from DAEMON_DB_PASSWORD, as in .env, else the local default), the role
# tickerflow-migrate gives that daemon (database_migrate passes it the same passwords).
role_url() {
  local variable
  variable="$(echo "$2" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); role = "tickerflow_" + sys.argv[2]; password = sys.argv[3] or role
host = p.hostname + (":%d" % p.port if p.port else "")
print(u.urlunsplit((p.scheme, "%s:%s@%s" % (role, u.quote(password, safe=""), host), p.path, p.query, p.fragment)))' \
    "$1" "$2" "${!variable:-}"
}

# postgres_stop DIR [remove]: stops the cluster of DIR; with "remove", deletes its files too.
postgres_stop() {
  local data
  data=$(pg_data_dir "$1")
  [ -f "$data/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1
  [ "${2:-}" = remove ] && rm -rf "$data"
  return 0
}

# kafka_classpath: resolves tools/kafka/pom.xml with Maven (cached in ~/.m2) and prints
# the classpath file's path.
kafka_classpath() {
  local out=$TICKERFLOW_ROOT/build/kafka.classpath
  local pom=$TICKERFLOW_ROOT/tools/kafka/pom.xml
  if [ ! -s "$out" ] || [ "$pom" -nt "$out" ]; then
    mkdir -p "$(dirname "$out")"
    say "resolving the Kafka broker jars with Maven (first run downloads ~100 MB)"
    mvn -q -B -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" >&2 ||
      { say "Maven could not resolve $pom"; return 1; }
  fi
  echo "$out"
}

# kafka_start DIR PORT CONTROLLER_PORT: formats DIR/data on first use and starts a
# combined broker+controller on 127.0.0.1:PORT. Waits until it answers metadata requests.
kafka_start() {
  local dir=$1 port=$2 controller_port=$3
  local classpath
  classpath=$(kafka_classpath) || return 1
  mkdir -p "$dir"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  local java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$TICKERFLOW_ROOT/tools/kafka/log4j2.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    # A cluster id is a URL-safe base64 UUID; like Kafka's own Uuid.randomUuid, never one
    # starting with '-', which the storage tool would read as an option (1 run in 64 failed).
    local cluster_id
    cluster_id=$(python3 -c 'import uuid,base64
while True:
    i = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not i.startswith("-"): break
print(i)')
    java "${java_opts[@]}" -cp "@$classpath" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
      { say "formatting Kafka storage failed:"; tail -n 20 "$dir/format.log" >&2; return 1; }
  fi
  # "@file" makes java read the (long) classpath from the file.
  nohup java "${java_opts[@]}" -cp "@$classpath" kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/kafka.pid"
  wait_for 90 "Kafka on 127.0.0.1:$port" kcat -b "127.0.0.1:$port" -L -m 2 ||
    { say "Kafka did not start: see $dir/kafka.log"; return 1; }
}

# stop_pidfile PIDFILE SECONDS: SIGTERM to the process the file names, SIGKILL if it is
# still there after SECONDS, then removes the file. Nothing to do without the file.
stop_pidfile() {
  local pidfile=$1 seconds=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq $((seconds * 5))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  return 0
}

kafka_stop() {
  stop_pidfile "$1/kafka.pid" 20
}

# kafka_create_topic BROKERS TOPIC PARTITIONS: the official TopicCommand (kafka-topics.sh).
# kafka_warm_group_coordinator BROKERS: makes a fresh broker ready for consumer groups.
# The first group a new cluster sees makes the broker create __consumer_offsets, and
# librdkafka, told COORDINATOR_NOT_AVAILABLE meanwhile, asks again a second later. A cluster
# that has run any group (the bridge's, in ours) never pays this again, so benchmarks pay
# it here, untimed, instead of charging it to the daemon they measure.
kafka_warm_group_coordinator() {
  local brokers=$1
  kafka_create_topic "$brokers" tickerflow-warm-up 1 2>/dev/null
  echo warm-up | kcat -P -b "$brokers" -t tickerflow-warm-up
  timeout 30 kcat -b "$brokers" -G tickerflow-warm-up -e -q tickerflow-warm-up >/dev/null
}

# kafka_delete_topic BROKERS TOPIC: the official TopicCommand (kafka-topics.sh --delete).
kafka_delete_topic() {
  local brokers=$1 topic=$2 classpath
  classpath=$(kafka_classpath) || return 1
  java -Xmx256m "-Dlog4j2.configurationFile=$TICKERFLOW_ROOT/tools/kafka/log4j2.properties" -cp "@$classpath" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --delete --topic "$topic" >&2
}

kafka_create_topic() {
  local brokers=$1 topic=$2 partitions=$3 classpath
  classpath=$(kafka_classpath) || return 1
  java -Xmx256m "-Dlog4j2.configurationFile=$TICKERFLOW_ROOT/tools/kafka/log4j2.properties" -cp "@$classpath" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1 >&2
}
