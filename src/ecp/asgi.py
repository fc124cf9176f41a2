"""The ASGI entry point for granian: settings come from the environment."""

import gc

from ecp import clock
from ecp.app import create_app
from ecp.booking import calendar
from ecp.settings import Settings
from ecp.web.templating import compile_all, environment

settings = Settings.from_env()
app = create_app(settings)
# What each worker would otherwise build on its first requests, built before it serves: its
# templates (create_app's environment is this one) and the holiday tables.
compile_all(environment(auto_reload=settings.debug))
calendar.warm_up(clock.today())
# Everything built so far lives as long as the worker: out of the collector's sight, a full
# collection no longer walks the app, its routes and templates (a pause of hundreds of
# milliseconds, seen as the slowest requests of a run).
gc.collect()
gc.freeze()
