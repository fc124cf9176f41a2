"""The ASGI entry point for granian: settings come from the environment."""

from ecp.app import create_app

app = create_app()
