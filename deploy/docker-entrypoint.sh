#!/bin/sh
# Container entry point: `serve` (default) applies the migrations then starts granian;
# any other arguments run an ecp command (e.g. `backup /backups/x.dump`).
set -eu
if [ "${1:-serve}" = "serve" ]; then
  ecp migrate
  exec ecp serve --host "${ECP_HOST:-0.0.0.0}" --port "${ECP_PORT:-8000}" \
    --workers "${ECP_WORKERS:-2}"
fi
exec ecp "$@"
