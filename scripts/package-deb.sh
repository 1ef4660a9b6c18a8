#!/bin/bash
# npm run package: proxy-proxy_<version>_all.deb with dpkg-deb, from the built daemon and its
# production dependencies. Runs from the repository root after `npm run build`.
set -euo pipefail
command -v dpkg-deb >/dev/null || { echo "package: dpkg-deb is missing: apt-get install dpkg-dev" >&2; exit 1; }
version=$(node -p "require('./package.json').version")
out="proxy-proxy_${version}_all.deb"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
lib="$root/usr/lib/proxy-proxy"

install -d "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
  "$root/usr/lib/tmpfiles.d" "$root/etc/proxy-proxy" "$root/DEBIAN"
cp -a dist package.json package-lock.json "$lib/"
# demo.yaml: `proxy-proxy demo` reads it next to the built code.
install -d "$lib/config" && cp config/demo.yaml "$lib/config/"
# Production dependencies only, from the installed tree (native modules already built).
cp -a node_modules "$lib/"
(cd "$lib" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
rm -rf "$lib/dist/test" "$lib/dist/bench"
install -m 0755 packaging/debian/proxy-proxy.sh "$root/usr/bin/proxy-proxy"
install -m 0644 systemd/proxy-proxy.service systemd/proxy-proxy.socket "$root/lib/systemd/system/"
install -m 0644 packaging/debian/sysusers.conf "$root/usr/lib/sysusers.d/proxy-proxy.conf"
install -m 0644 packaging/debian/tmpfiles.conf "$root/usr/lib/tmpfiles.d/proxy-proxy.conf"
install -m 0640 config/proxy-proxy.example.yaml "$root/etc/proxy-proxy/proxy-proxy.yaml"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
echo /etc/proxy-proxy/proxy-proxy.yaml >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: proxy-proxy
Version: ${version}
Architecture: all
Maintainer: proxy-proxy maintainers <proxy-proxy@localhost>
Depends: nodejs (>= 20) | nodejs-lts, systemd
Section: net
Priority: optional
Installed-Size: ${size}
Description: one Foreman smart proxy in front of several
 proxy-proxy is registered in Foreman as one smart proxy and replicates, fails over or pins
 each request to 1..N real smart proxies behind it; it also hosts the remote-execution
 pull-mqtt job spool.
CONTROL
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
