#!/bin/sh
# As the official redis image: redis-server runs as the redis user, reachable from the other
# containers (the official build turns protected mode off; Debian's binary needs it said).
set -eu
if [ "${1:-}" = redis-server ]; then
  exec setpriv --reuid=redis --regid=redis --init-groups "$@" --protected-mode no
fi
exec "$@"
