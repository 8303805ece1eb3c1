#!/usr/bin/env bash
# ApplicationStart — starts the HTTP server as a background daemon.
# Environment: LIFECYCLE_EVENT DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID
#              (BUNDLE_COMMIT for git revisions); SAMPLE_HTTP_PORT if the agent has it.
# The daemon's output goes to a log file: a background process that keeps the hook's stdout open
# would make CodeDeploy hang; Ferry stops waiting after a short grace and warns, but redirecting
# is still the right thing to do.
set -euo pipefail
APP_DIR=/tmp/ferry-http-service
nohup node "$APP_DIR/server.js" > "$APP_DIR.log" 2>&1 &
echo $! > "$APP_DIR.pid"
echo "started server pid $(cat "$APP_DIR.pid")"
