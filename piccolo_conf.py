"""For the `piccolo` CLI run from the repository root; the app itself uses ecp.piccolo_conf."""

from ecp.piccolo_conf import APP_REGISTRY, DB  # noqa: F401
