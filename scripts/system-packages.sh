#!/usr/bin/env bash
# The Debian packages the tests need, in one place: `npm test` (pretest) and `.ci/run` both call
# this, and the README names the same list (a unit test checks that it does).
#
#   scripts/system-packages.sh check     exit 1 and name what is missing
#   scripts/system-packages.sh ensure    install what is missing (as root: apt-get), else say how
#   scripts/system-packages.sh list      print the list, one a line
#
# Why each one:
#   chromium, firefox-esr  the real browsers of every e2e test (never skipped)
#   coturn                 the production TURN server the relay tests run, and its turnutils clients
#   nftables, iproute2     network namespaces, veth links and loss for the netsim tests
#   prometheus             promtool: the /metrics endpoint is checked with `promtool check metrics`
#   redis-server           the cluster backend's tests run a real Redis (killed and restarted)
#   haproxy                deploy/haproxy is run in front of two nodes by its test
#   systemd                systemd-analyze verify checks deploy/systemd/parley.service
#   ffmpeg                 the server remuxes browser recordings (ffmpeg -c copy) and reads their
#                          duration (ffprobe); the recording tests decode and seek the results
#   tshark                 dumpcap and tshark: e2e/encryption.test.ts captures calls and proves
#                          their media is DTLS-SRTP and their signaling TLS
#   xvfb                   a virtual X display for the one headful Chromium: headless Chromium never
#                          hides a page, e2e/recording-hidden-tab.test.ts records in a hidden tab
# PARLEY_SKIP_SYSTEM_PACKAGES=1 skips `ensure` (a machine that provides them another way).
set -euo pipefail

packages=(chromium firefox-esr coturn nftables iproute2 prometheus redis-server haproxy systemd ffmpeg tshark xvfb)

missing() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || echo "$package"
  done
}

case "${1:-}" in
  list)
    printf '%s\n' "${packages[@]}"
    ;;
  check)
    command -v dpkg-query >/dev/null || { echo "system-packages: no dpkg here; the tests need: ${packages[*]}" >&2; exit 1; }
    absent=$(missing | xargs)
    [ -z "$absent" ] || { echo "system-packages: missing $absent (install: apt-get install -y $absent)" >&2; exit 1; }
    ;;
  ensure)
    [ "${PARLEY_SKIP_SYSTEM_PACKAGES:-}" = 1 ] && exit 0
    if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
      echo "system-packages: not a Debian machine; install the equivalents of: ${packages[*]}" >&2
      echo "  (then PARLEY_SKIP_SYSTEM_PACKAGES=1 npm test)" >&2
      exit 1
    fi
    absent=$(missing | xargs)
    [ -z "$absent" ] && exit 0
    if [ "$(id -u)" != 0 ]; then
      echo "system-packages: the tests need $absent; install them once as root:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y $absent" >&2
      exit 1
    fi
    echo "system-packages: installing $absent (apt-get, once)"
    export DEBIAN_FRONTEND=noninteractive
    # wireshark-common (tshark's dependency) asks whether non-root users may capture; answer no
    # up front (the tests capture as root), so the install never waits for a prompt.
    if command -v debconf-set-selections >/dev/null; then
      echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
    fi
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -qq $absent >/dev/null
    absent=$(missing | xargs)
    [ -z "$absent" ] || { echo "system-packages: apt-get did not install $absent" >&2; exit 1; }
    ;;
  *)
    echo "usage: $0 check|ensure|list" >&2
    exit 2
    ;;
esac
