# A real Docker engine for the compose test (scripts/test-compose), on a machine that has
# no engine running and cannot pull images: Debian's dockerd started in the background,
# and a debian:bookworm-slim base image built locally with debootstrap from the Debian
# mirror apt already uses. Source after services.sh; functions return non-zero on failure.

DOCKER_STARTED_ENGINE=${DOCKER_STARTED_ENGINE:-}

docker_engine_running() { docker info >/dev/null 2>&1; }

# dockerd adds NAT and filter rules when it starts and leaves them when it stops. On an
# nf_tables host those tables keep connection tracking on for every packet, loopback
# included (bench/ws-fanout lost most of its headroom to it), so the engine we start is
# stopped with the tables and the docker0 bridge it added removed again.
netfilter_tables() { command -v nft >/dev/null && nft list tables 2>/dev/null || true; }
DOCKER_TABLES_BEFORE=
DOCKER_BRIDGE_BEFORE=
# dockerd also turns on IP forwarding and bridge netfilter; these go back as they were.
DOCKER_SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
                net.bridge.bridge-nf-call-arptables)
DOCKER_SYSCTLS_BEFORE=()

# docker_engine_start STATE_DIR: uses the engine that runs, or starts Debian's dockerd
# (log in STATE_DIR/dockerd.log) and remembers to stop it in docker_engine_stop.
docker_engine_start() {
  local dir=$1
  if docker_engine_running; then
    say "using the Docker engine that is already running"
    return 0
  fi
  command -v dockerd >/dev/null || { say "dockerd not found: install Debian's docker.io"; return 1; }
  mkdir -p "$dir"
  DOCKER_TABLES_BEFORE=$(netfilter_tables)
  DOCKER_BRIDGE_BEFORE=$(ip link show docker0 2>/dev/null || true)
  local key
  DOCKER_SYSCTLS_BEFORE=()
  for key in "${DOCKER_SYSCTLS[@]}"; do
    DOCKER_SYSCTLS_BEFORE+=("$key=$(sysctl -n "$key" 2>/dev/null || echo 0)")
  done
  # containerd comes with docker.io; dockerd starts its own when none runs.
  nohup dockerd >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/dockerd.pid"
  DOCKER_STARTED_ENGINE=$dir
  wait_for 60 "the Docker engine" docker info || { say "dockerd did not start: see $dir/dockerd.log"; return 1; }
  say "started dockerd $(docker version --format '{{.Server.Version}}' 2>/dev/null) (log: $dir/dockerd.log)"
}

# docker_engine_stop: stops the engine docker_engine_start started, and nothing else.
docker_engine_stop() {
  [ -n "$DOCKER_STARTED_ENGINE" ] || return 0
  stop_pidfile "$DOCKER_STARTED_ENGINE/dockerd.pid" 30
  DOCKER_STARTED_ENGINE=
  local table
  while read -r table; do
    [ -z "$table" ] || grep -qxF "$table" <<<"$DOCKER_TABLES_BEFORE" || nft delete $table || true
  done < <(netfilter_tables)
  [ -n "$DOCKER_BRIDGE_BEFORE" ] || ip link delete docker0 2>/dev/null || true
  local setting
  for setting in "${DOCKER_SYSCTLS_BEFORE[@]}"; do
    sysctl -qw "$setting" 2>/dev/null || true
  done
  say "stopped the Docker engine (and undid its netfilter tables, docker0 and sysctls)"
}

# The mirror apt uses on this machine (first Debian URI in its sources), so the image's
# packages come from where the host's do.
debian_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n 1)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -n 1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# docker_base_image: makes sure debian:bookworm-slim exists in the engine. Built like the
# official one: debootstrap --variant=minbase, then documentation, manuals and apt lists
# left out, so Dockerfiles written for the official image build unchanged.
docker_base_image() {
  local tag=debian:bookworm-slim
  docker image inspect "$tag" >/dev/null 2>&1 && return 0
  command -v debootstrap >/dev/null || { say "debootstrap not found: install Debian's debootstrap"; return 1; }
  local mirror rootfs
  mirror=$(debian_mirror)
  rootfs=$(mktemp -d /tmp/tickerflow-rootfs.XXXXXX)
  say "building $tag with debootstrap from $mirror (about a minute)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { say "debootstrap failed: see $rootfs.log"; rm -rf "$rootfs"; return 1; }
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT::AutoRemove::SuggestsImportant "false";
APT
  find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$rootfs" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "$tag" >/dev/null ||
    { say "docker import failed"; rm -rf "$rootfs"; return 1; }
  rm -rf "$rootfs" "$rootfs.log"
  say "imported $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}
