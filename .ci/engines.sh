#!/usr/bin/env bash
# Build the distributed engines the engine tests run against, once, into a
# cache outside the repository, and print the environment that points the
# tests at them:
#
#   eval "$(.ci/engines.sh)"
#
# prints, on stdout only,
#
#   export DBMON_CORTEX=<cache>/cortex-v1.21.1/cortex
#   export DBMON_THANOS=<cache>/thanos-v0.42.0/thanos
#   export DBMON_VICTORIA_METRICS=<cache>/victoria-metrics-v1.151.0/victoria-metrics
#   export DBMON_VMALERT=…  DBMON_VMAGENT=…  DBMON_VMALERT_TOOL=…
#
# Progress goes to stderr. The cache is ${DBMON_CACHE:-$HOME/.cache/dbmonctl-ci};
# each binary lives in <name>-<version>/ and is only rebuilt when missing, so
# a warm cache costs a few stat calls. A build lands in the cache only when
# it succeeded (built in a temporary directory, then renamed into place).
#
# Cortex and Thanos cannot be `go install`ed (their go.mod has replace
# directives), so they are built from their module source: `go mod download` fetches it read-only
# into the module cache, a writable copy is built with the tags its Makefile
# uses (netgo, slicelabels; without slicelabels the binary panics on its
# first gRPC call). VictoriaMetrics' single-node apps install with
# `go install`.
set -euo pipefail

CORTEX_VERSION=v1.21.1
THANOS_VERSION=v0.42.0
VM_VERSION=v1.151.0
VM_APPS=(victoria-metrics vmalert vmagent vmalert-tool)

cache=${DBMON_CACHE:-$HOME/.cache/dbmonctl-ci}
mkdir -p "$cache"

log() { printf '[engines %ds] %s\n' "$SECONDS" "$*" >&2; }

# build_from_module installs $cache/<name>-<version>/<name>, built from the
# module's source with the tags both projects' Makefiles use (a go.mod with
# replace directives cannot be go installed).
build_from_module() {
  local name=$1 module=$2 version=$3 pkg=$4
  local dest="$cache/$name-$version"
  if [ -x "$dest/$name" ]; then
    log "$name $version: cached at $dest/$name"
    return
  fi
  log "$name $version: downloading the module"
  local work
  work=$(mktemp -d "$cache/.$name-build.XXXXXX")
  # Outside any module, so the download is not tied to this repository's go.mod.
  local dir
  dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then
    log "$name $version: go mod download gave no source directory"
    rm -rf "$work"
    return 1
  fi
  cp -r "$dir" "$work/src"
  chmod -R u+w "$work/src"
  log "$name $version: building (several minutes on a cold Go cache)"
  (cd "$work/src" && GOFLAGS=-buildvcs=false go build -tags netgo,slicelabels -o "$work/$name" "$pkg")
  "$work/$name" --version >/dev/null 2>&1 || "$work/$name" -version >/dev/null
  mkdir -p "$dest.tmp"
  mv "$work/$name" "$dest.tmp/$name"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  log "$name $version: built $dest/$name"
}

# build_vm installs $cache/<app>-$VM_VERSION/<app>.
build_vm() {
  local app=$1
  local dest="$cache/$app-$VM_VERSION"
  if [ -x "$dest/$app" ]; then
    log "$app $VM_VERSION: cached at $dest/$app"
    return
  fi
  log "$app $VM_VERSION: go install"
  local work
  work=$(mktemp -d "$cache/.$app-build.XXXXXX")
  (cd "$work" && GOBIN="$work/bin" GOFLAGS=-buildvcs=false go install "github.com/VictoriaMetrics/VictoriaMetrics/app/$app@$VM_VERSION")
  mkdir -p "$dest.tmp"
  mv "$work/bin/$app" "$dest.tmp/$app"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  log "$app $VM_VERSION: built $dest/$app"
}

build_from_module cortex github.com/cortexproject/cortex "$CORTEX_VERSION" ./cmd/cortex
build_from_module thanos github.com/thanos-io/thanos "$THANOS_VERSION" ./cmd/thanos
for app in "${VM_APPS[@]}"; do
  build_vm "$app"
done

env_name() { # victoria-metrics -> VICTORIA_METRICS
  printf '%s' "$1" | tr 'a-z-' 'A-Z_'
}
printf 'export DBMON_CORTEX=%q\n' "$cache/cortex-$CORTEX_VERSION/cortex"
printf 'export DBMON_THANOS=%q\n' "$cache/thanos-$THANOS_VERSION/thanos"
for app in "${VM_APPS[@]}"; do
  printf 'export DBMON_%s=%q\n' "$(env_name "$app")" "$cache/$app-$VM_VERSION/$app"
done
log "done"
