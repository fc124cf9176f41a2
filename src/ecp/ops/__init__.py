"""Operations: the in-app job runner and its jobs, backups, logs and metrics."""
