"""Create, update and delete organisations, people, projects, calls, networks and memberships.

Every function takes the `Principal` and checks it first (see `api.services.auth`): staff change
everything; a member changes its own organisation, that organisation's people and the projects
the organisation takes part in; calls, networks and memberships are the staff's. Each function
commits its own transaction. Duplicates are refused with `Conflict` before the insert; foreign
ids in bodies that do not exist are `InvalidInput`; unknown ids in paths are `NotFound`.
"""

from api.services.editing.calls import (
    create_call,
    delete_call,
    update_call,
)
from api.services.editing.networks import (
    add_member,
    create_network,
    delete_network,
    remove_member,
    update_member,
    update_network,
)
from api.services.editing.organisations import (
    create_organisation,
    delete_organisation,
    update_organisation,
)
from api.services.editing.people import (
    create_person,
    delete_person,
    update_person,
)
from api.services.editing.projects import (
    create_project,
    delete_project,
    update_project,
)

__all__ = [
    "add_member",
    "create_call",
    "create_network",
    "create_organisation",
    "create_person",
    "create_project",
    "delete_call",
    "delete_network",
    "delete_organisation",
    "delete_person",
    "delete_project",
    "remove_member",
    "update_call",
    "update_member",
    "update_network",
    "update_organisation",
    "update_person",
    "update_project",
]
