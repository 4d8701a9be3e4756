"""Storage: SQLModel tables (one family per entity), settings, database and migrations.

Importing this package registers every table on `SQLModel.metadata` (Alembic relies on it).
"""

from models.call import Call, CallCreate, CallPublic, CallsPublic, CallStatus
from models.embedding import EmbeddingCache
from models.feedback import Feedback, FeedbackContext, FeedbackCreate, FeedbackPublic
from models.job import ImportJob, ImportJobPublic, JobState
from models.mailing import (
    Channel,
    Delivery,
    Frequency,
    MailPreference,
    MessageState,
    OutboxMessage,
)
from models.network import Membership, MembershipPublic, Network, NetworkPublic
from models.organisation import (
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationsPublic,
    OrganisationUpdate,
    OrgType,
)
from models.person import PeoplePublic, Person, PersonCreate, PersonPublic, Visibility
from models.project import (
    ParticipantPublic,
    ParticipantRole,
    Project,
    ProjectCreate,
    ProjectParticipant,
    ProjectPublic,
    ProjectsPublic,
)
from models.provenance import Provenance
from models.reference import Country, IncomeGroup
from models.shortlist import Shortlist, ShortlistEntry, ShortlistPublic
from models.user import ApiKey, Role, User, UserPublic
from models.web_session import WebSession
from models.website import WebsiteSource, WebsiteSourcePublic

__all__ = [
    "ApiKey",
    "Call",
    "CallCreate",
    "CallPublic",
    "CallStatus",
    "CallsPublic",
    "Channel",
    "Country",
    "Delivery",
    "EmbeddingCache",
    "Feedback",
    "FeedbackContext",
    "FeedbackCreate",
    "FeedbackPublic",
    "Frequency",
    "ImportJob",
    "ImportJobPublic",
    "IncomeGroup",
    "JobState",
    "MailPreference",
    "Membership",
    "MembershipPublic",
    "MessageState",
    "Network",
    "NetworkPublic",
    "OrgType",
    "Organisation",
    "OrganisationCreate",
    "OrganisationPublic",
    "OrganisationUpdate",
    "OrganisationsPublic",
    "OutboxMessage",
    "ParticipantPublic",
    "ParticipantRole",
    "PeoplePublic",
    "Person",
    "PersonCreate",
    "PersonPublic",
    "Project",
    "ProjectCreate",
    "ProjectParticipant",
    "ProjectPublic",
    "ProjectsPublic",
    "Provenance",
    "Role",
    "Shortlist",
    "ShortlistEntry",
    "ShortlistPublic",
    "User",
    "UserPublic",
    "Visibility",
    "WebSession",
    "WebsiteSource",
    "WebsiteSourcePublic",
]
