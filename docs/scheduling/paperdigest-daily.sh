#!/bin/sh
# Build today's digest; when the feed still holds the previous announcement (exit code 4),
# try again every 30 minutes (PAPERDIGEST_RETRY_SECONDS), at most 6 runs in all. Any other exit code ends the script at once.
# Usage: paperdigest-daily.sh /path/to/paperdigest-checkout
set -u
cd "${1:?usage: paperdigest-daily.sh FOLDER-WITH-config.toml}" || exit 2
PAPERDIGEST="${PAPERDIGEST:-.venv/bin/paperdigest}"
RETRY_SECONDS="${PAPERDIGEST_RETRY_SECONDS:-1800}"
attempt=1
while :; do
    "$PAPERDIGEST" run -q
    status=$?
    if [ "$status" -ne 4 ] || [ "$attempt" -ge 6 ]; then
        exit "$status"
    fi
    attempt=$((attempt + 1))
    sleep "$RETRY_SECONDS"
done
