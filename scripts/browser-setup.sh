#!/usr/bin/env bash
# Installs the browser the console's tests drive (test/integration/console.test.ts): Debian's
# chromium, and a font set so pages render with real glyphs in the screenshots. playwright-core
# drives it by path (/usr/bin/chromium); it never downloads a browser of its own.
#
# Idempotent: nothing is done when /usr/bin/chromium is there (pass --force to reinstall).
# Needs root (or sudo) for apt-get; .ci/run calls it before `npm test`.
#
# Usage: bash scripts/browser-setup.sh [--force]
set -euo pipefail

fail() {
  echo "browser-setup: $*" >&2
  exit 1
}

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) fail "unknown argument '$1' (usage: bash scripts/browser-setup.sh [--force])" ;;
esac

if [[ $force -eq 0 && -x /usr/bin/chromium ]]; then
  echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

command -v apt-get >/dev/null || fail "no apt-get: install Debian's chromium package by hand (the tests launch /usr/bin/chromium)"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || fail "apt-get needs root: run as root or install sudo"
  sudo="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# fonts-noto-core: the console's sans-serif; fonts-dejavu-core: the fallback chromium expects.
$sudo apt-get install -y -q --no-install-recommends chromium fonts-noto-core fonts-dejavu-core
[[ -x /usr/bin/chromium ]] || fail "apt-get finished but /usr/bin/chromium is missing"
echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
