#!/usr/bin/env bash
# ApplicationStop — runs the PREVIOUS revision's copy of this script: stops the server it started.
# Environment: LIFECYCLE_EVENT DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID
set -euo pipefail
PIDFILE=/tmp/ferry-http-service.pid
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null && echo "stopped server pid $pid" || echo "server pid $pid was not running"
  rm -f "$PIDFILE"
fi
