#!/usr/bin/env bash
# Installs promtool, Prometheus' own rule checker, for the tests of deploy/prometheus/alerts.yaml
# (test/unit/dashboard-and-alerts.test.ts checks the rules with it; test/unit/alert-rules-fire.test.ts
# runs each alert against series where it must fire and where it must not). Without promtool those
# checks are skipped; .ci/run installs it so they always run there.
#
# Debian's `prometheus` package carries promtool; installing it starts no service where there is no
# init system (CI, containers). Idempotent: nothing is done when promtool is on the PATH (pass
# --force to run apt-get anyway, which upgrades it).
#
# Usage: bash scripts/promtool-setup.sh [--force]
set -euo pipefail
prog=promtool-setup
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_force_flag "$@"

if [[ $force -eq 0 ]] && command -v promtool >/dev/null; then
  say "$(promtool --version 2>&1 | sed -n 1p) already installed"
  exit 0
fi
need_apt "install promtool by hand (Prometheus' release archive has it)"
apt_install prometheus
command -v promtool >/dev/null || fail "apt-get finished but promtool is missing"
say "$(promtool --version 2>&1 | sed -n 1p) installed"
