"""Settings from the environment, with safe embedded defaults.

Nothing here runs at import time: `Config.from_env()` is called by the app factory and
the CLI, and tests pass their own mapping to `create_app`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import MISSING, dataclass, field
from pathlib import Path


def _read_or_create_secret(path: Path, nbytes: int = 48) -> str:
    """Return the secret stored at `path`, creating it (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(nbytes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        return value


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Config:
    INSTANCE_DIR: str
    SQLALCHEMY_DATABASE_URL: str
    SECRET_KEY: str
    EMBEDDED_DEFAULTS: bool
    SESSION_COOKIE_NAME: str = "concord_session"
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    SESSION_COOKIE_SECURE: bool = False
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    # Portal sessions end after this much inactivity, and in any case after the absolute limit.
    SESSION_IDLE_MINUTES: int = 60
    SESSION_ABSOLUTE_HOURS: int = 12
    # Failed logins of one email from one source address: after THROTTLE_AFTER of them that
    # source waits an exponentially growing delay; after LOCK_AFTER it is locked out of that
    # email for LOCK_MINUTES (never the owner elsewhere, never issued tokens). Failed logins
    # per minute are capped per source and for the whole platform (concord.auth.throttle).
    LOGIN_THROTTLE_AFTER: int = 3
    LOGIN_LOCK_AFTER: int = 10
    LOGIN_LOCK_MINUTES: int = 15
    LOGIN_FAILURES_PER_SOURCE: int = 20
    LOGIN_FAILURES_GLOBAL: int = 500
    API_TOKEN_DEFAULT_DAYS: int = 90
    API_TOKEN_MAX_DAYS: int = 365
    INVITATION_DAYS: int = 7
    IDEMPOTENCY_HOURS: int = 24
    # A dispute's evidence: the largest file accepted, and how many files one dispute may hold.
    EVIDENCE_MAX_BYTES: int = 10 * 1024 * 1024
    EVIDENCE_MAX_FILES: int = 50
    # Documents (certificates, reports): their owners are told this many days before one
    # expires, and once when it has expired. The file limit is EVIDENCE_MAX_BYTES.
    DOCUMENT_REMINDER_DAYS: int = 30
    # VMI stock data: the largest CSV file a buyer uploads, and the most rows it may hold.
    VMI_UPLOAD_MAX_BYTES: int = 20 * 1024 * 1024
    VMI_UPLOAD_MAX_ROWS: int = 200_000
    # The largest JSON body of a batch of stock records (5,000 records fit in well under it).
    VMI_BATCH_MAX_BYTES: int = 4 * 1024 * 1024
    # The audit trail's head is anchored on chain at most this often, and only when it moved.
    AUDIT_ANCHOR_MINUTES: float = 10
    API_TITLE: str = "Concord API"
    API_VERSION: str = "v1"
    OPENAPI_VERSION: str = "3.0.3"
    OPENAPI_URL_PREFIX: str = "/api"
    OPENAPI_JSON_PATH: str = "v1/openapi.json"
    OPENAPI_SWAGGER_UI_PATH: str = "docs"
    OPENAPI_SWAGGER_UI_URL: str = "/static/vendor/swagger-ui/"
    WTF_CSRF_TIME_LIMIT: int | None = None
    # The ledger: "embedded" (eth-tester in this process, state under instance/chain) or a
    # JSON-RPC URL. Fees are fixed caps (permissioned chains often charge none: set 0).
    CHAIN_URL: str = "embedded"
    CHAIN_FUNDER_KEY: str | None = None
    CHAIN_MAX_FEE_WEI: int = 10 * 10**9
    CHAIN_PRIORITY_FEE_WEI: int = 0
    CHAIN_RECEIPT_TIMEOUT_SECONDS: int = 60
    # One settlement token per currency, deployed with the contracts.
    SETTLEMENT_CURRENCIES: tuple[str, ...] = ("EUR", "USD")
    DISPUTE_WINDOW_HOURS: int = 72
    # Embedded mode runs the outbox worker and the indexer as a thread of `concord run`.
    LEDGER_WORKER_THREAD: bool = False
    LEDGER_POLL_SECONDS: float = 0.5
    # Webhooks are never sent to loopback, private, link-local or other non-public addresses
    # unless this is on (a receiver on the same host or network, as in the tests).
    WEBHOOKS_ALLOW_PRIVATE_HOSTS: bool = False
    # Where people reach the portal: links sent to them (invitations) are built on this,
    # never on the Host header of the request that created them. `concord run` sets it
    # from --host and --port unless CONCORD_PUBLIC_URL says otherwise.
    PUBLIC_BASE_URL: str | None = None
    # Provenance events go into Merkle batches, one open batch per organization, closed (and
    # its root anchored) once it holds this many events or its oldest is this old.
    PROVENANCE_BATCH_SIZE: int = 1000
    PROVENANCE_BATCH_AGE_SECONDS: float = 60.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        instance = Path(env.get("CONCORD_INSTANCE_DIR") or Path.cwd() / "instance").resolve()
        database_url = env.get("DATABASE_URL", "").strip()
        embedded = not database_url
        if embedded:
            instance.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{instance / 'concord.db'}"
        elif database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        secret = env.get("CONCORD_SECRET_KEY") or _read_or_create_secret(instance / "secret_key")
        return cls(
            INSTANCE_DIR=str(instance),
            SQLALCHEMY_DATABASE_URL=database_url,
            SECRET_KEY=secret,
            EMBEDDED_DEFAULTS=embedded,
            SESSION_COOKIE_SECURE=_flag(env.get("CONCORD_COOKIE_SECURE"), False),
            CHAIN_URL=(env.get("CONCORD_CHAIN_URL") or "embedded").strip(),
            CHAIN_FUNDER_KEY=env.get("CONCORD_CHAIN_FUNDER_KEY") or None,
            CHAIN_MAX_FEE_WEI=int(env.get("CONCORD_CHAIN_MAX_FEE_WEI") or 10 * 10**9),
            SETTLEMENT_CURRENCIES=tuple(c.strip().upper() for c in (env.get("CONCORD_CURRENCIES") or "EUR,USD").split(",") if c.strip()),
            DISPUTE_WINDOW_HOURS=int(env.get("CONCORD_DISPUTE_WINDOW_HOURS") or 72),
            EVIDENCE_MAX_BYTES=int(env.get("CONCORD_EVIDENCE_MAX_MB") or 10) * 1024 * 1024,
            DOCUMENT_REMINDER_DAYS=int(env.get("CONCORD_DOCUMENT_REMINDER_DAYS") or 30),
            VMI_UPLOAD_MAX_BYTES=int(env.get("CONCORD_VMI_UPLOAD_MAX_MB") or 20) * 1024 * 1024,
            VMI_UPLOAD_MAX_ROWS=int(env.get("CONCORD_VMI_UPLOAD_MAX_ROWS") or 200_000),
            AUDIT_ANCHOR_MINUTES=float(env.get("CONCORD_AUDIT_ANCHOR_MINUTES") or 10),
            WEBHOOKS_ALLOW_PRIVATE_HOSTS=_flag(env.get("CONCORD_WEBHOOKS_ALLOW_PRIVATE_HOSTS"), False),
            PUBLIC_BASE_URL=(env.get("CONCORD_PUBLIC_URL") or "").strip() or None,
            PROVENANCE_BATCH_SIZE=int(env.get("CONCORD_PROVENANCE_BATCH_SIZE") or 1000),
            PROVENANCE_BATCH_AGE_SECONDS=float(env.get("CONCORD_PROVENANCE_BATCH_AGE") or 60),
        )

    REQUIRED = frozenset({"INSTANCE_DIR", "SQLALCHEMY_DATABASE_URL", "SECRET_KEY"})

    @classmethod
    def defaults(cls) -> dict:
        return {name: spec.default for name, spec in cls.__dataclass_fields__.items() if name.isupper() and spec.default is not MISSING} | {
            "EMBEDDED_DEFAULTS": False
        }

    def as_mapping(self) -> dict:
        values = {k: v for k, v in self.__dict__.items() if k.isupper()}
        values.update(self.extra)
        return values
