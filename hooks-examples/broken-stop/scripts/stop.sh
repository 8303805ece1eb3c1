#!/usr/bin/env bash
# ApplicationStop — deliberately broken: it stops a service that does not exist.
# Environment: LIFECYCLE_EVENT DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID
set -euo pipefail
echo "stopping broken-stop-service"
systemctl-that-does-not-exist stop broken-stop-service
