"""Piccolo's configuration: the engine comes from ECP_DATABASE_URL so the CLI and the app agree."""

from piccolo.conf.apps import AppRegistry

from ecp.db import engine_from_url
from ecp.settings import Settings

DB = engine_from_url(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["ecp.piccolo_app"])
