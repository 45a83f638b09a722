# Shared preamble of the setup scripts (browser-setup.sh, promtool-setup.sh, kafka-fetch.sh).
# Sourced, never run: each script sets `prog` (the word its messages start with) first, then
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# and gets: `repo_root`, `fail` / `say`, `parse_force_flag "$@"` (sets `force`), and for the scripts
# that install Debian packages `need_apt` (sets `sudo`), `apt_install` and `missing_debs`.
# The calling script keeps `set -euo pipefail` on its own first lines, so it holds even if this
# file cannot be found.

: "${prog:?scripts/lib.sh: set prog before sourcing}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() {
  echo "$prog: $*" >&2
  exit 1
}

say() {
  echo "$prog: $*"
}

# The scripts take at most one argument, --force (redo the work even when it looks done).
parse_force_flag() {
  force=0
  case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) fail "unknown argument '$1' (usage: bash scripts/$prog.sh [--force])" ;;
  esac
  [[ $# -le 1 ]] || fail "unexpected argument '$2' (usage: bash scripts/$prog.sh [--force])"
}

# apt-get, as root or through sudo. $1 says what to do by hand where there is no apt-get.
need_apt() {
  command -v apt-get >/dev/null || fail "no apt-get: $1"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || fail "apt-get needs root: run as root or install sudo"
    sudo="sudo"
  fi
}

# Installs the given packages, without the recommended ones (a browser's recommends pull in a
# desktop's worth of packages a test machine never uses). Call need_apt first.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "$@"
}

# Prints, one a line, those of the given Debian packages that are not installed. A machine without
# dpkg has none of them.
missing_debs() {
  local pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      echo "$pkg"
    fi
  done
}
