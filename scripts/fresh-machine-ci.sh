#!/usr/bin/env bash
# Runs CI as a brand-new machine would: the Debian packages that the project installs (and the
# tools people here install by hand, which a test could come to rely on unnoticed) are purged
# first, npm's cache is empty, and `.ci/run` runs in a fresh clone of HEAD. Use it for every
# change that touches tests or dependencies (docs/testing.md).
#
#   scripts/fresh-machine-ci.sh --yes [--runs N] [--keep-packages]
#
# --yes is required: it removes packages from this machine (they come back when .ci/run
# reinstalls what the project needs; the hand-installed extras it purges do not).
# --keep-packages skips the purge (a clean clone and an empty npm cache only).
# Needs root and a Debian machine. Prints one line a run: exit code, seconds, test counts.
set -euo pipefail

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
runs=1
purge=1
confirmed=0
while [ $# -gt 0 ]; do
  case "$1" in
    --yes) confirmed=1 ;;
    --runs) runs=$2; shift ;;
    --keep-packages) purge=0 ;;
    *) echo "usage: $0 --yes [--runs N] [--keep-packages]" >&2; exit 2 ;;
  esac
  shift
done
[ "$confirmed" = 1 ] || { echo "fresh-machine-ci: this purges Debian packages; run it with --yes" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "fresh-machine-ci: needs root (apt-get purge)" >&2; exit 2; }

# Present on a new machine already (the base image has it): never purged.
base_image=(iproute2)
# Installed by hand on this kind of machine for other work (shared/ENVIRONMENT.md); a new machine
# has none of them, so a test that needs one must get it from scripts/system-packages.sh.
hand_installed=(redis-server haproxy janus janus-tools ffmpeg tshark prometheus gstreamer1.0-tools
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad simple-whip-client chromium-driver)

if [ "$purge" = 1 ]; then
  to_purge=()
  for package in $(bash "$repo/scripts/system-packages.sh" list) "${hand_installed[@]}"; do
    [[ " ${base_image[*]} " == *" $package "* ]] && continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' && to_purge+=("$package")
  done
  # chromium's own libraries come in chromium-common; autoremove takes the rest of what they pulled in.
  dpkg-query -W -f='${Status}' chromium-common 2>/dev/null | grep -q 'install ok installed' && to_purge+=(chromium-common)
  if [ ${#to_purge[@]} -gt 0 ]; then
    echo "fresh-machine-ci: purging ${to_purge[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${to_purge[@]}" >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
  fi
fi

status=0
for run in $(seq 1 "$runs"); do
  work=$(mktemp -d /tmp/parley-fresh-XXXXXX)
  git clone -q "$repo" "$work/clone"
  log="$work/ci.log"
  start=$(date +%s)
  set +e
  # An empty npm cache, as on a new machine; CI=true as the real CI sets it.
  (cd "$work/clone" && CI=true npm_config_cache="$work/npm-cache" bash .ci/run </dev/null) >"$log" 2>&1
  code=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  counts=$(grep -E '^ℹ (pass|fail|cancelled|skipped) ' "$log" | awk '{printf "%s %s ", $2, $3}')
  summary="fresh-machine-ci: run $run/$runs at $(git -C "$repo" rev-parse --short HEAD): exit $code in ${seconds}s: ${counts:-no test summary}"
  if [ "$code" = 0 ]; then
    echo "$summary"
    rm -rf "$work"
  else
    echo "$summary(log kept: $log)"
    status=1
    grep -E '^\s*✖' "$log" | head -20 >&2 || true
  fi
  # Later runs reuse the reinstalled packages, like CI on a machine that already ran once; the
  # purge above is what proves the first run.
done
exit "$status"
