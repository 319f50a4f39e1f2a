#!/usr/bin/python3
"""Fast check of docker-compose.yaml, in the ordinary test run (no engine needed).

Debian's docker-compose 1.29 validates the file (`config -q`) without a .env, with every
profile the file declares and with the compose suite's override; then the resolved file
is held to what the README promises: every long-running service has a healthcheck and a
restart policy, start order waits on health or on the one-shot's success, the
infrastructure uses the official images, and the documented ports are published.
Exit 77 (skipped) when docker-compose is not installed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.environ.get("TICKERFLOW_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAIN = os.path.join(ROOT, "docker-compose.yaml")
OVERRIDE = os.path.join(ROOT, "tests", "compose", "docker-compose.test.yaml")

ONE_SHOT = {"init-kafka", "init-db"}
OFFICIAL_IMAGES = {
    "kafka": "apache/kafka:",
    "init-kafka": "apache/kafka:",
    "kafdrop": "obsidiandynamics/kafdrop:",
    "postgres": "postgres:",
    "pgadmin": "dpage/pgadmin4:",
    "prometheus": "prom/prometheus:",  # in the observability profile
    "grafana": "grafana/grafana:",
}
PUBLISHED = {"api": 5000, "kafdrop": 19000, "pgadmin": 5050, "postgres": 5432, "kafka": 9092}
DAEMONS = {"producer", "bridge", "aggregator", "api", "init-db", "trade-producer", "trade-bridge", "trade-aggregator"}

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL: {message}")


def compose(empty_env, *args, files=(MAIN,)):
    command = ["docker-compose", "--project-directory", ROOT, "--env-file", empty_env]
    for path in files:
        command += ["-f", path]
    return subprocess.run(command + list(args), capture_output=True, text=True, cwd=ROOT)


def published_ports(service):
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["published"]))
        else:
            ports.add(int(str(entry).split(":")[-2]))
    return ports


def check_resolved(name, config):
    services = config["services"]
    for service_name, expected_port in PUBLISHED.items():
        if expected_port not in published_ports(services.get(service_name, {})):
            fail(f"{name}: {service_name} does not publish port {expected_port}")
    for service_name, prefix in OFFICIAL_IMAGES.items():
        if service_name in services and not services[service_name].get("image", "").startswith(prefix):
            fail(f"{name}: {service_name} should use the official image {prefix}…")
    for service_name in DAEMONS:
        if service_name.startswith("trade-") and service_name not in services:
            continue  # the trades profile's, in a variant without it
        if "build" not in services.get(service_name, {}):
            fail(f"{name}: {service_name} is not built from the Dockerfile")
    # Least privilege: each daemon connects with its own role, never the schema's owner.
    for daemon in DAEMONS - {"init-db"}:
        if daemon.startswith("trade-") and daemon not in services:
            continue
        role = daemon.removeprefix("trade-")
        url = str((services[daemon].get("environment") or {}).get("DATABASE_URL", ""))
        if not url.startswith(f"postgresql://tickerflow_{role}:"):
            fail(f"{name}: {daemon} should connect as tickerflow_{role}, not with DATABASE_URL {url!r}")
    for service_name, service in services.items():
        one_shot = service_name in ONE_SHOT
        restart = service.get("restart", "no")
        if one_shot and restart not in ("no", '"no"'):
            fail(f"{name}: one-shot {service_name} must not restart (restart: {restart})")
        if not one_shot:
            if "healthcheck" not in service:
                fail(f"{name}: {service_name} has no healthcheck")
            if restart in ("no", None):
                fail(f"{name}: {service_name} has no restart policy")
        for dependency, rule in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            condition = rule.get("condition") if isinstance(rule, dict) else None
            if condition != wanted:
                fail(f"{name}: {service_name} depends on {dependency} with condition {condition}, expected {wanted}")


def main():
    if shutil.which("docker-compose") is None:
        print("SKIPPED: docker-compose is not installed (scripts/install-deps installs it)")
        return 77
    with open(MAIN, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if "name" in raw or "version" in raw:
        fail("top-level name:/version: keys: docker-compose 1.29 rejects the first, Compose v2 warns on the second")

    # The override builds Kafka from a folder scripts/test-compose stages under build/;
    # docker-compose checks that it exists, so make sure it does (empty is enough here).
    os.makedirs(os.path.join(ROOT, "build", "compose", "kafka"), exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty_env:
        listed = compose(empty_env.name, "config", "--profiles")
        if listed.returncode != 0:
            fail(f"docker-compose config --profiles: {listed.stderr.strip()}")
        profiles = [line for line in listed.stdout.split() if line]
        variants = [("docker-compose.yaml", [], (MAIN,))]
        variants += [(f"docker-compose.yaml --profile {p}", ["--profile", p], (MAIN,)) for p in profiles]
        variants += [("docker-compose.yaml + test override", [], (MAIN, OVERRIDE))]
        for name, profile_args, files in variants:
            quiet = compose(empty_env.name, *profile_args, "config", "-q", files=files)
            if quiet.returncode != 0:
                fail(f"{name}: docker-compose config -q: {quiet.stderr.strip()}")
                continue
            if files == (MAIN,):
                resolved = compose(empty_env.name, *profile_args, "config", files=files)
                check_resolved(name, yaml.safe_load(resolved.stdout))
            print(f"ok: {name}")
    if failures:
        print(f"{len(failures)} problem(s) in docker-compose.yaml")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
