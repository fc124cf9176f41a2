"""Piccolo's configuration: the engine comes from ECP_DATABASE_URL so the CLI and the app agree."""

import os

from piccolo.conf.apps import AppRegistry

from ecp.db import engine_from_url
from ecp.settings import Settings

DB = engine_from_url(os.environ.get("ECP_DATABASE_URL") or Settings().database_url)

APP_REGISTRY = AppRegistry(apps=["ecp.piccolo_app"])
