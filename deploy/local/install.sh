#!/usr/bin/env bash
# Installs what the integration tests run against: Redis and Redis Sentinel, Prometheus, Alertmanager and
# Chromium (the wall page's browser tests) from Debian, and Apache Kafka assembled from Maven Central jars (no release tarball: only the
# package registries are reachable from CI). Idempotent; a no-op in about a second when
# everything is there. Start the services with `python3 -m deploy.local.stack`.
#
# Environment: CCMON_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/ccmon) holds the
# Kafka jars; ~/.m2 is Maven's own download cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/kafka/pom.xml"
cache="${CCMON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccmon}"
kafka_version="$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$pom")"
kafka_home="$cache/kafka-$kafka_version"
libs="$kafka_home/libs"
sudo=""
if [[ $EUID -ne 0 ]]; then sudo="sudo"; fi

log() { printf 'install.sh: %s\n' "$*"; }

apt_install() {
  # Debian's maintainer scripts would start system-wide redis/prometheus daemons on the
  # default ports; nothing uses them and they cost memory, so forbid service starts while
  # installing (the standard policy-rc.d switch), unless someone already set a policy.
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created=1
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" ||
    { [[ -z $created ]] || $sudo rm -f "$policy"; return 1; }
  [[ -z $created ]] || $sudo rm -f "$policy"
}

# ---- Debian packages, only for what is missing --------------------------------------------
declare -A package_of=(
  [redis-server]=redis-server [redis-cli]=redis-tools [redis-sentinel]=redis-sentinel
  [prometheus]=prometheus [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager [amtool]=prometheus-alertmanager
  [java]=openjdk-17-jre-headless [mvn]=maven [chromium]=chromium [openssl]=openssl
)
packages=()
# openssl: the security tests make their certificates (tests/support/certs.py).
for binary in redis-server redis-cli redis-sentinel prometheus promtool prometheus-alertmanager amtool java mvn chromium openssl; do
  if ! command -v "$binary" >/dev/null 2>&1; then
    log "missing $binary"
    packages+=("${package_of[$binary]}")
  fi
done
# The wall page names DejaVu Sans first: screenshots look the same on every machine.
if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
  log "missing the DejaVu fonts"
  packages+=(fonts-dejavu-core)
fi
if ((${#packages[@]})); then
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  log "apt-get install ${packages[*]}"
  apt_install "${packages[@]}"
  installed_debs=1
else
  installed_debs=0
fi

java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
java_major="${java_major:-0}"
if ((${java_major%%.*} < 17)); then
  log "Kafka $kafka_version needs Java 17 or newer; \`java\` is $java_major (set JAVA_HOME or PATH)"
  exit 1
fi

# ---- Apache Kafka jars --------------------------------------------------------------------
# The .complete marker is written last, so a download cut short is redone, never half used.
if [[ -f $kafka_home/.complete && -f $libs/kafka_2.13-$kafka_version.jar ]]; then
  installed_kafka=0
else
  log "assembling Apache Kafka $kafka_version from Maven Central into $libs"
  mkdir -p "$cache"
  partial="$(mktemp -d "$cache/.kafka-$kafka_version.XXXXXX")"
  trap 'rm -rf "$partial"' EXIT
  # Maven's log is kept out of the way unless it fails: -q still leaves colour escapes.
  if ! mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$partial/libs" >"$partial/maven.log" 2>&1; then
    tail -n 60 "$partial/maven.log"
    log "Maven could not fetch Apache Kafka $kafka_version (log above)"
    exit 1
  fi
  if [[ ! -f $partial/libs/kafka_2.13-$kafka_version.jar ]]; then
    log "Maven finished but kafka_2.13-$kafka_version.jar is not among the copied jars"
    exit 1
  fi
  touch "$partial/.complete"
  rm -rf "$kafka_home"
  mv "$partial" "$kafka_home"
  trap - EXIT
  installed_kafka=1
fi

# ---- what is there now -----------------------------------------------------------------------
first_line() { "$@" 2>&1 | head -n 1; }
state() { if (($1)); then echo "installed now"; else echo "already present"; fi; }
log "Debian packages: $(state "$installed_debs")"
log "  $(first_line redis-server --version)"
log "  $(first_line prometheus --version)"
log "  $(first_line prometheus-alertmanager --version)"
log "  $(first_line amtool --version)"
log "  $(first_line java -version)"
log "  $(chromium --version 2>/dev/null | head -n 1)"
log "Apache Kafka $kafka_version ($(find "$libs" -name '*.jar' | wc -l) jars in $libs): $(state "$installed_kafka")"
