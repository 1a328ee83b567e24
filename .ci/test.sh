#!/usr/bin/env bash
# The test command from README.md: install what the tests need, then run the whole suite
# (unit, peer and e2e; the e2e tests bring the sandbox up themselves and take it down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install.sh
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
