#!/usr/bin/env bash
# Installs the browser the browser tests drive (test/integration/console.test.ts, the operations
# console; test/integration/email-render.browser.test.ts, every customer email): Debian's chromium,
# and fonts for every script the emails are written in, so pages render with real glyphs and the
# screenshots show what a customer sees. playwright-core drives chromium by path (/usr/bin/chromium);
# it never downloads a browser of its own.
#
# The fonts (docs/notifications.md, "How it looks"):
#   fonts-noto-core    the sans-serif of Latin, Greek and Cyrillic, and also Thai (Noto Sans Thai)
#                      and Arabic (Noto Sans / Naskh Arabic), so th and ar need nothing more;
#   fonts-noto-cjk     Chinese (simplified and traditional), Japanese and Korean: Noto Sans CJK;
#   fonts-dejavu-core  the fallback chromium expects.
#
# Idempotent per package: chromium is left alone when /usr/bin/chromium is there, and only the
# fonts that are not installed are added, so a machine set up before a font joined the list gets
# it on the next run. --force runs apt-get for all of them (upgrading what is there).
# Needs root (or sudo) for apt-get; .ci/run calls it before `npm test`.
#
# Usage: bash scripts/browser-setup.sh [--force]
set -euo pipefail
prog=browser-setup
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_force_flag "$@"

fonts=(fonts-noto-core fonts-noto-cjk fonts-dejavu-core)
# The languages the fonts must cover, as fontconfig names them: one per script of the shipped
# customer templates (and of those to come), checked with `fc-list :lang=<x>` after installing.
languages=(zh-cn zh-tw ja ko th ar)

chromium_version() {
  /usr/bin/chromium --version 2>/dev/null || echo chromium
}

if [[ $force -eq 1 ]]; then
  wanted=(chromium "${fonts[@]}")
else
  mapfile -t wanted < <(missing_debs "${fonts[@]}")
  [[ -x /usr/bin/chromium ]] || wanted=(chromium "${wanted[@]}")
fi

if [[ ${#wanted[@]} -eq 0 ]]; then
  say "$(chromium_version) already installed, with ${fonts[*]}"
  exit 0
fi

need_apt "install Debian's chromium and ${fonts[*]} by hand (the tests launch /usr/bin/chromium)"
say "installing ${wanted[*]}"
apt_install "${wanted[@]}"
[[ -x /usr/bin/chromium ]] || fail "apt-get finished but /usr/bin/chromium is missing"

uncovered=()
for lang in "${languages[@]}"; do
  [[ -n "$(fc-list ":lang=$lang" family 2>/dev/null)" ]] || uncovered+=("$lang")
done
[[ ${#uncovered[@]} -eq 0 ]] || fail "apt-get finished but no installed font covers: ${uncovered[*]} (fc-list :lang=<x> is empty)"
say "$(chromium_version) installed, with ${fonts[*]}"
