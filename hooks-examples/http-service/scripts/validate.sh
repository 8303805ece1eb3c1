#!/usr/bin/env bash
# ValidateService — checks the server answers over HTTP (pure bash, no curl needed).
# Environment: LIFECYCLE_EVENT DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID
set -euo pipefail
PORT=${SAMPLE_HTTP_PORT:-18080}
for _ in $(seq 1 50); do
  if exec 3<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
    printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    body=$(cat <&3)
    exec 3>&-
    echo "$body" | tail -n 1
    echo "$body" | head -n 1 | grep -q ' 200 ' && exit 0
  fi
  sleep 0.1
done
echo "server on port $PORT did not answer 200" >&2
exit 1
