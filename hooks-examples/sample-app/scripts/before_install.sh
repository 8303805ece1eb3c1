#!/usr/bin/env bash
# BeforeInstall — runs before the files are copied: prepare the host
#
# Environment (set by the agent, as CodeDeploy does):
#   LIFECYCLE_EVENT        BeforeInstall
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
echo "installing into $APP_DIR (revision root: ${FERRY_REVISION_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)})"
