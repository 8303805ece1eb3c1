#!/usr/bin/env bash
# AfterInstall — runs after the files are copied: configure
#
# Environment (set by the agent, as CodeDeploy does):
#   LIFECYCLE_EVENT        AfterInstall
#   DEPLOYMENT_ID          e.g. d-ABCDEFGHI (d-…-local for ferry-agent local)
#   APPLICATION_NAME       the application
#   DEPLOYMENT_GROUP_NAME  the deployment group's name
#   DEPLOYMENT_GROUP_ID    the deployment group's id (its directory under the agent's root dir)
#   BUNDLE_COMMIT          the git commit, for revisions pushed from git (unset otherwise)
#   FERRY_REVISION_DIR     the unpacked revision (Ferry's addition; the working directory is /, as on CodeDeploy)
# stdin is closed.
set -euo pipefail
APP_DIR=/tmp/ferry-sample-app
echo "[$LIFECYCLE_EVENT] $DEPLOYMENT_ID: $APPLICATION_NAME to $DEPLOYMENT_GROUP_NAME ($DEPLOYMENT_GROUP_ID)"
echo "deployed_by=$DEPLOYMENT_ID" > "$APP_DIR.env"
echo "installed version $(cat "$APP_DIR/VERSION"): $(ls "$APP_DIR" | tr '\n' ' ')"
