#!/usr/bin/env bash
# The CI upload, tried on this machine against the bundled local server (no account):
# the README's "CI" section runs exactly these lines (tests/ci/test_snippets.py runs them).
# Needs junit2af on PATH and reports under build/test-results/.
set -euo pipefail
junit2af serve --port 0 --data "$PWD/af-data" > af.env 2> af.log &
server=$!
until grep -q '^export AF_PROJECT_ID=' af.env 2>/dev/null; do sleep 0.2; done
. ./af.env                         # AF_API_URL, AF_API_KEY, AF_PROJECT_ID
junit2af upload --label "CI #1" 'build/test-results/**/*.xml'
kill "$server"                     # serve stops cleanly on SIGTERM
wait "$server"
