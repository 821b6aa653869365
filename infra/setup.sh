#!/usr/bin/env bash
# Installs what atp-stream needs on a fresh Debian 12 machine: the two legacy database
# servers from Debian's packages, and a project-local Python environment.
# Java 17 and Maven are expected on the machine; the Kafka/Connect/Debezium/registry jars
# are fetched later by `atp install` (Maven Central, cached in ~/.m2).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

need_packages=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_packages+=(postgresql-15)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_packages+=(mariadb-server)
command -v java >/dev/null 2>&1 || need_packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_packages+=(maven)
if [ ${#need_packages[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # The packages' own services are not used (we start our own instances on other ports).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
say "installing Python packages into .venv (cached after the first run)"
.venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
say "done"
