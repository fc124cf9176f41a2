"""ECP, the family portal of a commune's périscolaire services."""

import os

# Piccolo finds its configuration by module name; ours lives in the package, so that the
# installed `ecp` command works from any directory.
os.environ.setdefault("PICCOLO_CONF", "ecp.piccolo_conf")
