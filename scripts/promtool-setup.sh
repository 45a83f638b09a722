#!/usr/bin/env bash
# Installs promtool, Prometheus' own rule checker, for the tests of deploy/prometheus/alerts.yaml
# (test/unit/dashboard-and-alerts.test.ts checks the rules with it; test/unit/alert-rules-fire.test.ts
# runs each alert against series where it must fire and where it must not). Without promtool those
# checks are skipped; .ci/run installs it so they always run there.
#
# Debian's `prometheus` package carries promtool; installing it starts no service where there is no
# init system (CI, containers). Idempotent: nothing is done when promtool is on the PATH.
#
# Usage: bash scripts/promtool-setup.sh
set -euo pipefail

if command -v promtool >/dev/null; then
  echo "promtool-setup: $(promtool --version 2>&1 | sed -n 1p) already installed"
  exit 0
fi
command -v apt-get >/dev/null || { echo "promtool-setup: no apt-get: install promtool by hand (Prometheus' release archive has it)" >&2; exit 1; }
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "promtool-setup: apt-get needs root: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends prometheus
command -v promtool >/dev/null || { echo "promtool-setup: apt-get finished but promtool is missing" >&2; exit 1; }
echo "promtool-setup: $(promtool --version 2>&1 | sed -n 1p) installed"
