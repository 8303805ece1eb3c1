#!/usr/bin/env bash
# Prints the installed version; made executable by the appspec's permissions section.
echo "sample-app version $(cat "$(dirname "${BASH_SOURCE[0]}")/VERSION")"
