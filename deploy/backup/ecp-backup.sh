#!/bin/sh
# Nightly backup of ECP, kept 30 days. Run by cron or the systemd timer beside this file.
#   Docker:    ECP_BACKUP_MODE=docker  (runs `ecp backup` inside the app container)
#   Bare host: ECP_BACKUP_MODE=host    (runs /opt/ecp/.venv/bin/ecp with /etc/ecp/ecp.env)
set -eu
MODE="${ECP_BACKUP_MODE:-docker}"
DIR="${ECP_BACKUP_DIR:-/var/backups/ecp}"
KEEP_DAYS="${ECP_BACKUP_KEEP_DAYS:-30}"
COMPOSE_DIR="${ECP_COMPOSE_DIR:-/opt/ecp}"
STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$DIR"

if [ "$MODE" = docker ]; then
  NAME="ecp-$STAMP.dump"
  # Written to the container's /backups volume, then copied out to the host.
  docker compose --project-directory "$COMPOSE_DIR" exec -T app ecp backup "/backups/$NAME"
  docker compose --project-directory "$COMPOSE_DIR" cp "app:/backups/$NAME" "$DIR/$NAME"
  docker compose --project-directory "$COMPOSE_DIR" exec -T app rm -f "/backups/$NAME"
else
  NAME="ecp-$STAMP.backup"
  set -a; . /etc/ecp/ecp.env; set +a
  /opt/ecp/.venv/bin/ecp backup "$DIR/$NAME"
fi

# `ecp backup` exits non-zero when the copy fails its check: cron mails that to root.
find "$DIR" -name 'ecp-*' -type f -mtime +"$KEEP_DAYS" -delete
echo "ECP backup OK: $DIR/$NAME"
# Copy $DIR off this machine too (the commune's backup server, rsync, restic...).
