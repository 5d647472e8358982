#!/bin/sh
# Build today's digest; when the feed still holds the previous announcement (exit code 4),
# try again every 30 minutes, at most 6 times. Any other exit code ends the script at once.
# Usage: paperdigest-daily.sh /path/to/paperdigest-checkout
set -u
cd "${1:?usage: paperdigest-daily.sh FOLDER-WITH-config.toml}" || exit 2
PAPERDIGEST="${PAPERDIGEST:-.venv/bin/paperdigest}"
attempt=1
while :; do
    "$PAPERDIGEST" run -q
    status=$?
    if [ "$status" -ne 4 ] || [ "$attempt" -ge 6 ]; then
        exit "$status"
    fi
    attempt=$((attempt + 1))
    sleep 1800
done
