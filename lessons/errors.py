"""Domain errors. They carry meaning, not HTTP; `ui` maps them to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause."""

    code = "error"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    """A record that was asked for does not exist (or may not be seen)."""

    code = "not_found"


class ValidationFailed(DomainError):
    """Input broke a rule; `fields` maps a field path (``lessons.0.title``) to the problem."""

    code = "invalid"


class InvalidTransition(DomainError):
    """A lifecycle step that the lesson's current state does not allow."""

    code = "invalid_transition"


class Forbidden(DomainError):
    """The caller may not do this."""

    code = "forbidden"


class NotSignedIn(DomainError):
    """The action needs a signed-in user (or an API token) and there is none."""

    code = "unauthorized"
