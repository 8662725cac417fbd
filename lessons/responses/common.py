"""What every answer shares: the error body, and how a project and a person are named."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Timestamp = str  # ISO 8601, e.g. 2025-03-01T09:30:00.123456 (UTC)
Day = str  # ISO 8601 date, e.g. 2025-03-01
Match = Literal["strong", "related", "weak"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, str]


class Error(Out):
    """Every refusal (4xx): what went wrong, in words, and per field."""

    error: ErrorDetail


class ProjectName(Out):
    id: int
    name: str


class PersonOut(Out):
    id: int
    name: str
    unit: str
    role: str
    profile: str = Field(description="The person's place in the people directory (a link).")
