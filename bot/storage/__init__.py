"""Storage of Wegwijzer: SQLAlchemy models, repositories, a unit of work and migrations.

State lives in the database, not in memory (design principle 4): each update is handled in
one `Database.transaction()`, whose `UnitOfWork` reaches every table through a repository, so
services and channels need no SQL and the engine stays free of SQLAlchemy. Importing this
package connects to nothing, and neither does `Database.connect(url)`: the first transaction
does.
"""

from .children import ChildVisit
from .database import Database, Unavailable
from .export import ExportRow
from .models import (
    Answer,
    Base,
    Case,
    CaseChild,
    Flag,
    Invite,
    Membership,
    Person,
    ProcessedUpdate,
    Run,
    Score,
)
from .repositories import CaseErased, CaseFilter, CaseListed, CaseSummary
from .uow import UnitOfWork

__all__ = [
    "Answer",
    "Base",
    "Case",
    "CaseChild",
    "CaseErased",
    "CaseFilter",
    "CaseListed",
    "CaseSummary",
    "ChildVisit",
    "Database",
    "ExportRow",
    "Flag",
    "Invite",
    "Membership",
    "Person",
    "ProcessedUpdate",
    "Run",
    "Score",
    "Unavailable",
    "UnitOfWork",
]
