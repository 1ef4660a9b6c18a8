#!/bin/sh
# /usr/bin/proxy-proxy: the daemon and its command line, with the system's Node.js.
exec node /usr/lib/proxy-proxy/dist/src/cli.js "$@"
