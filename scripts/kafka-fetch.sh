#!/usr/bin/env bash
# Fetches the jars of the local test broker (scripts/kafka/pom.xml) from Maven Central into
# <repo>/.cache/kafka/libs, for src/devtools/local-kafka.ts.
#
# Idempotent: a marker file records the sha256 of the pom the libs were fetched for, and is written
# only after the copy succeeded and passed the checks below; when it matches, nothing is done.
# The jars land in a staging dir first and are moved into place at the end, so an interrupted run
# never leaves a half-filled libs dir that looks complete.
#
# Usage: bash scripts/kafka-fetch.sh [--force]
set -euo pipefail
prog=kafka-fetch
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_force_flag "$@"

pom="$repo_root/scripts/kafka/pom.xml"
cache_dir="$repo_root/.cache/kafka"
libs_dir="$cache_dir/libs"
marker="$libs_dir/.complete"

[ -f "$pom" ] || fail "missing $pom"
pom_sha="$(sha256sum "$pom" | cut -d' ' -f1)"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)"
[ -n "$kafka_version" ] || fail "could not read <kafka.version> from $pom"

if [ "$force" = 0 ] && [ -f "$marker" ] && grep -qx "pom-sha256=$pom_sha" "$marker"; then
  say "Kafka $kafka_version jars already in $libs_dir"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || fail "mvn not found on PATH; install Maven 3.x (and a JDK 17+) to fetch the broker jars"
command -v java >/dev/null 2>&1 || fail "java not found on PATH; the local broker needs a JDK/JRE 17+"

mkdir -p "$cache_dir"

# Two fetches at once (say, a test run and a demo started together) would race on the final move;
# serialise them when flock is available and re-check the marker once we hold the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/.fetch.lock"
  flock 9
  if [ "$force" = 0 ] && [ -f "$marker" ] && grep -qx "pom-sha256=$pom_sha" "$marker"; then
    say "Kafka $kafka_version jars already in $libs_dir"
    exit 0
  fi
fi

staging="$(mktemp -d "$cache_dir/libs.staging.XXXXXX")"
cleanup() { rm -rf "$staging"; }
trap cleanup EXIT

say "fetching Kafka $kafka_version broker jars from Maven Central into $libs_dir ..."
# -q leaves only errors; the sed drops the bare colour resets that Debian's Maven 3.8 prints even in
# batch mode, and pipefail keeps mvn's exit status.
if ! mvn -B -q -f "$pom" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$staging" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2; then
  fail "mvn copy-dependencies failed for kafka_2.13:$kafka_version (is Maven Central reachable? see the Maven output above)"
fi

# Exactly one SLF4J backend must be present. None means SLF4J falls back to NOP and the broker logs
# nothing (so the readiness line never appears); two means SLF4J picks one arbitrarily.
bindings="$(cd "$staging" && ls -1 | grep -E '^(log4j-slf4j2?-impl|slf4j-(reload4j|log4j12|simple|nop|jdk14|jdk-platform-logging)|logback-classic)-[0-9].*\.jar$' || true)"
binding_count="$(printf '%s' "$bindings" | grep -c . || true)"
if [ "$binding_count" != 1 ]; then
  fail "expected exactly one SLF4J binding in the fetched jars, found $binding_count: $(printf '%s' "${bindings:-none}" | paste -sd, -)"
fi
case "$bindings" in
  log4j-slf4j2-impl-*) ;;
  *) fail "expected the SLF4J binding to be log4j-slf4j2-impl, found $bindings" ;;
esac
# Globs, not `ls | grep -q`: under pipefail an early-exiting grep can fail the pipeline via SIGPIPE.
compgen -G "$staging/slf4j-api-2.*.jar" >/dev/null || fail "slf4j-api 2.x missing from the fetched jars (an slf4j 1.7 API ignores the log4j2 binding)"
compgen -G "$staging/log4j-core-*.jar" >/dev/null || fail "log4j-core missing from the fetched jars"
[ -f "$staging/kafka_2.13-$kafka_version.jar" ] || fail "kafka_2.13-$kafka_version.jar missing from the fetched jars"

jar_count="$(ls -1 "$staging"/*.jar | wc -l)"
size="$(du -sh "$staging" | cut -f1)"
{
  echo "pom-sha256=$pom_sha"
  echo "kafka-version=$kafka_version"
  echo "jars=$jar_count"
} >"$staging/.complete"

# Swap by two renames rather than rm + mv: a broker starting right now can miss the jars only for the
# instant between the renames, not for a whole recursive delete (a running JVM keeps its open jars).
old_libs=""
if [ -e "$libs_dir" ]; then
  old_libs="$cache_dir/libs.old.$$"
  mv "$libs_dir" "$old_libs"
fi
mv "$staging" "$libs_dir"
trap - EXIT
[ -z "$old_libs" ] || rm -rf "$old_libs"
say "done, $jar_count jars ($size) in $libs_dir"
