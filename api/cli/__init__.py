"""The `healthmatch` command: a thin edge over the service functions.

One module per group of commands; importing them registers their commands on `app`.
"""

from api.cli import (  # noqa: F401  (registers commands)
    consortium,
    db,
    evaluate,
    imports,
    mailing,
    scrape,
    search,
    server,
    users,
)
from api.cli.common import app

__all__ = ["app"]
