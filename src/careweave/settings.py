"""The one settings object: read once at start-up from flags and environment, then passed in.

Every value a deployment configures lives here, under an environment variable
``CAREWEAVE_<NAME>`` (``CAREWEAVE_DB``, ``CAREWEAVE_WAREHOUSE``, ...). A command
line flag given explicitly wins over the environment. Only the entry points
(``careweave.cli`` and the composition root ``careweave.server``) build a
:class:`Settings`; everything below them receives plain values as arguments and
never reads ``os.environ`` itself (an import contract keeps it so).

The object is frozen: nothing changes a setting after start-up, and nothing
writes settings back into the environment (multi-worker servers receive the
object itself, pickled, see careweave.server).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from careweave.errors import InputError

if TYPE_CHECKING:
    from careweave.care.channels import Channels

ENV_PREFIX = "CAREWEAVE_"
# The store when none is configured: a SQLite file in the working directory.
DEFAULT_DB_URL = "sqlite:///careweave.db"


class Settings(BaseSettings):
    """Deployment settings (each also ``CAREWEAVE_<FIELD>`` in the environment)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    db: str = Field(
        DEFAULT_DB_URL,
        description="Operational store URL (sqlite:///file.db or postgresql+psycopg://...).",
    )
    warehouse: Path | None = Field(
        None, description="DuckDB warehouse file the workbench reads (read-only)."
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="Key for analysts' pseudonyms (at least 32 bytes)."
    )
    pseudonym_key_file: Path | None = Field(
        None, description="File holding the pseudonym key (wins over pseudonym_key)."
    )
    insecure_cookies: bool = Field(
        False, description="Session cookies without Secure (plain-HTTP development only)."
    )
    config_dir: Path | None = Field(
        None, description="Override directory for the care rules (careweave.care.config)."
    )
    matrix_dir: Path | None = Field(
        None, description="Directory of local maturity matrices (TOML, careweave.maturity)."
    )
    budget_file: Path | None = Field(
        None,
        description="Pooled budget file (TOML, careweave.budgets) the schemes page and "
        "`careweave budgets report` read (none: the shipped example, seed 004's LTC scheme).",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server worker processes.")
    no_jobs: bool = Field(
        False,
        description="Do not run the clock-driven jobs (alarm breach check, outbox) in serve.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for the outbox's email (none: email waits in the outbox)."
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_from: str = Field("careweave@localhost", description="From address of outbox email.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS with the SMTP server.")
    smtp_username: str | None = Field(None, description="SMTP login name, if it needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    sms_gateway_url: str | None = Field(
        None, description="SMS gateway URL the outbox POSTs to (none: SMS waits in the outbox)."
    )
    sms_gateway_token: SecretStr | None = Field(None, description="SMS gateway bearer token.")
    outbox_every: float = Field(
        0.2, gt=0, le=3600, description="Seconds between outbox drains in serve."
    )
    bulk_dir: Path = Field(
        Path("careweave-bulk"),
        description="Directory of the FHIR Bulk Data export files, one subdirectory per "
        "export (every server worker must see the same one; relative: to the working "
        "directory).",
    )
    bulk_keep_hours: float = Field(
        24,
        gt=0,
        le=24 * 30,
        description="Hours a finished FHIR Bulk Data export's files are kept before they "
        "expire and are deleted.",
    )
    synth_workers: int | None = Field(
        None, ge=1, le=64, description="Generator processes (default: one per core, at most 2)."
    )
    tariff: Path | None = Field(
        None, description="Unit-cost tariff override (TOML) for `careweave stratify`."
    )
    needs_reference: Path | None = Field(
        None,
        description="Reference prevalence table (CSV) for `careweave needs` "
        "(default: the shipped measures/data/prevalence_reference.csv).",
    )

    @classmethod
    def load(cls, **flags: Any) -> Settings:
        """The environment with the flags given (not None) over it; InputError if invalid."""
        given = {k: v for k, v in flags.items() if v is not None}
        try:
            return cls(**given)
        except ValidationError as e:
            err = e.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else "settings"
            where = f"--{field.replace('_', '-')}" if field in given else env_name(field)
            raise InputError(f"{where}: {err['msg']}") from None

    @property
    def cookie_secure(self) -> bool:
        return not self.insecure_cookies

    def channels(self) -> Channels:
        """The outbox's email and SMS channels as configured (either may be absent)."""
        from careweave.care.channels import Channels, EmailSender, HttpSmsGateway

        email = None
        if self.smtp_host:
            password = self.smtp_password.get_secret_value() if self.smtp_password else None
            email = EmailSender(
                self.smtp_host,
                self.smtp_port,
                self.smtp_from,
                self.smtp_starttls,
                self.smtp_username,
                password,
            )
        sms = None
        if self.sms_gateway_url:
            token = self.sms_gateway_token.get_secret_value() if self.sms_gateway_token else None
            sms = HttpSmsGateway(self.sms_gateway_url, token)
        return Channels(email, sms)

    def pseudonym_key_bytes(self) -> bytes | None:
        """The pseudonym key (file first), checked; None when none is configured."""
        from careweave.security.pseudonyms import check_key

        if self.pseudonym_key_file is not None:
            path = self.pseudonym_key_file
            try:
                key = path.read_bytes().strip()
            except OSError as e:
                raise InputError(
                    f"{env_name('pseudonym_key_file')} {path}: cannot read ({e})"
                ) from e
            return check_key(key, env_name("pseudonym_key_file"))
        if self.pseudonym_key is not None and self.pseudonym_key.get_secret_value():
            value = self.pseudonym_key.get_secret_value().encode()
            return check_key(value, env_name("pseudonym_key"))
        return None


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return ENV_PREFIX + field.upper()
