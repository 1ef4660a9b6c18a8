#!/usr/bin/env bash
# Run before `npm test`: the suite talks to real programs (Mosquitto, Chromium, PostgreSQL,
# HAProxy, keepalived, systemd-socket-activate, openssl). As root on Debian, installs whichever are missing;
# otherwise names, in one line, the command that installs them, and fails.
set -uo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || missing+=(openssl)
have mosquitto || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
# The server binaries, not only the psql client some images carry.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
have haproxy || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
have keepalived || [ -x /usr/sbin/keepalived ] || missing+=(keepalived)
have systemd-socket-activate || missing+=(systemd)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "test prerequisites: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    # Debian's postgresql package starts a cluster of its own; the tests start theirs.
    exit 0
  fi
  echo "test prerequisites: apt-get install ${missing[*]} failed" >&2
  exit 1
fi
echo "npm test needs ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' first" >&2
exit 1
