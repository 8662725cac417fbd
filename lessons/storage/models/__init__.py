"""SQLModel tables: the records of DESIGN.md, one module per domain, all importable from here.

Enumerated values are stored as plain strings (validated on input by `lessons.schemas`) so a
new state or kind is a code change, not a database enum migration. Importing this package
registers every table on `SQLModel.metadata` (the migrations' env and the tests rely on it).
"""

from lessons.storage.models.accounts import (
    ApiToken,
    AuditEvent,
    LoginFailure,
    ProjectMember,
    Role,
    User,
    UserSession,
)
from lessons.storage.models.assists import PeerAssist
from lessons.storage.models.bar import BarItem, BeforeActionReview, Decision
from lessons.storage.models.base import new_uid, utcnow
from lessons.storage.models.index import (
    LessonEmbedding,
    LessonPassages,
    LessonSentences,
    LessonVersion,
)
from lessons.storage.models.lessons import (
    Action,
    ActionStatus,
    Lesson,
    LessonEvent,
    LessonStatus,
    LessonTag,
    Perspective,
    Polarity,
    Project,
    Review,
    ReviewKind,
    Sensitivity,
)
from lessons.storage.models.merges import LessonMerge
from lessons.storage.models.people import DigestDelivery, Person
from lessons.storage.models.taxonomy import TagScheme, TagTerm

__all__ = [
    "Action",
    "ActionStatus",
    "ApiToken",
    "AuditEvent",
    "BarItem",
    "BeforeActionReview",
    "Decision",
    "DigestDelivery",
    "Lesson",
    "LessonEmbedding",
    "LessonEvent",
    "LessonMerge",
    "LessonPassages",
    "LessonSentences",
    "LessonStatus",
    "LessonTag",
    "LessonVersion",
    "LoginFailure",
    "PeerAssist",
    "Person",
    "Perspective",
    "Polarity",
    "Project",
    "ProjectMember",
    "Review",
    "ReviewKind",
    "Role",
    "Sensitivity",
    "TagScheme",
    "TagTerm",
    "User",
    "UserSession",
    "new_uid",
    "utcnow",
]
