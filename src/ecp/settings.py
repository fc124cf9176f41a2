"""Runtime configuration: one frozen dataclass read from ECP_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

# Writable data (the SQLite file, the Paybox spool and test keys) defaults to var/ in the working
# directory: the checkout for `make run`, /app in the image. Never next to the code: an installed
# package lives in site-packages, which the app cannot (and should not) write to. Each of these
# paths has its own variable (ECP_DATABASE_URL, ECP_PAYBOX_SPOOL_DIR, ECP_PAYBOX_TEST_KEYS_DIR).
DATA_DIR = Path.cwd() / "var"
DEFAULT_SECRET = "dev-secret-change-me-dev-secret-change-me"
# Staff two-factor authentication (docs/security.md A10): "obligatoire" everywhere but the local demo.
STAFF_MFA_MODES = ("obligatoire", "facultative")


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def _staff_mfa(value: str | None, default: str) -> str:
    if value is None or not value.strip():
        return default
    mode = value.strip().lower()
    if mode not in STAFF_MFA_MODES:
        # A typo must not quietly weaken (or strengthen) the login: refuse to start.
        raise ValueError("ECP_STAFF_MFA doit valoir « obligatoire » ou « facultative ».")
    return mode


def _list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DATA_DIR / 'ecp.sqlite'}"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    environment: str = "development"  # "production" turns on the start-up refusals
    debug: bool = False
    redis_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    # Password hashing: "production" pins argon2id m=19 MiB t=2 p=1; "test" is argon2's CHEAPEST.
    password_profile: str = "production"
    # Each argon2 hash takes 19 MiB: two at once bound a login storm's extra memory to ~40 MB.
    hash_concurrency: int = 2
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_rate_per_minute: int = 10
    reset_rate_per_minute: int = 5
    # Account back-off: after this many failures the account waits 2^(n - threshold) minutes.
    lockout_threshold: int = 5
    lockout_max_minutes: int = 60
    # Account-wide ceiling over every client without a device cookie (ecp.auth.throttle).
    lockout_account_threshold: int = 20
    # "obligatoire": no staff session without a verified TOTP code (enrolment at first login).
    # "facultative" (the local demo only): enrolled staff give their code, others may enrol.
    staff_mfa: str = "obligatoire"
    payment_simulator: bool = True
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Portail Famille <ne-pas-repondre@villebelle-sur-seine.fr>"
    # The local demo's mailbox: without an SMTP host, e-mails are delivered as .eml files here.
    mail_dir: str | None = None
    commune_name: str = "Villebelle-sur-Seine"
    brand_colour: str = "#1d4e89"
    logo_path: str = "img/logo.svg"
    jobs_enabled: bool = True
    # Job runner: a pass every tick; a lease not renewed for job_lease_seconds is taken over.
    job_tick_seconds: float = 5.0
    job_lease_seconds: int = 30
    job_mail_seconds: int = 30
    job_reminders_seconds: int = 900
    job_retention_seconds: int = 86400
    job_cleanup_seconds: int = 3600
    # A day a child "usually attends" = booked on that weekday in each of these previous weeks.
    reminder_weeks: int = 3
    # /metrics answers only these client addresses or networks (others get 404).
    metrics_allowed: tuple[str, ...] = ("127.0.0.1", "::1")
    log_format: str = "json"  # json, or console for a developer's terminal
    log_level: str = "INFO"
    accessibility_status: str = "partiellement conforme"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        base = cls()
        return cls(
            database_url=e.get("ECP_DATABASE_URL") or base.database_url,
            secret_key=e.get("ECP_SECRET_KEY") or base.secret_key,
            base_url=(e.get("ECP_BASE_URL") or base.base_url).rstrip("/"),
            environment=e.get("ECP_ENV") or base.environment,
            debug=_bool(e.get("ECP_DEBUG"), base.debug),
            redis_url=e.get("ECP_REDIS_URL") or None,
            allowed_hosts=_list(e.get("ECP_ALLOWED_HOSTS")),
            trusted_proxies=_list(e.get("ECP_TRUSTED_PROXIES")),
            password_profile=e.get("ECP_PASSWORD_PROFILE") or base.password_profile,
            hash_concurrency=_int(e.get("ECP_HASH_CONCURRENCY"), base.hash_concurrency),
            session_idle_minutes=_int(e.get("ECP_SESSION_IDLE_MINUTES"), base.session_idle_minutes),
            session_absolute_hours=_int(
                e.get("ECP_SESSION_ABSOLUTE_HOURS"), base.session_absolute_hours
            ),
            login_rate_per_minute=_int(e.get("ECP_LOGIN_RATE_PER_MINUTE"), base.login_rate_per_minute),
            reset_rate_per_minute=_int(e.get("ECP_RESET_RATE_PER_MINUTE"), base.reset_rate_per_minute),
            lockout_account_threshold=_int(e.get("ECP_LOCKOUT_ACCOUNT_THRESHOLD"),
                                           base.lockout_account_threshold),
            staff_mfa=_staff_mfa(e.get("ECP_STAFF_MFA"), base.staff_mfa),
            payment_simulator=_bool(e.get("ECP_PAYMENT_SIMULATOR"), base.payment_simulator),
            smtp_host=e.get("ECP_SMTP_HOST") or None,
            smtp_port=_int(e.get("ECP_SMTP_PORT"), base.smtp_port),
            smtp_user=e.get("ECP_SMTP_USER") or None,
            smtp_password=e.get("ECP_SMTP_PASSWORD") or None,
            smtp_starttls=_bool(e.get("ECP_SMTP_STARTTLS"), base.smtp_starttls),
            mail_from=e.get("ECP_MAIL_FROM") or base.mail_from,
            mail_dir=e.get("ECP_MAIL_DIR") or None,
            commune_name=e.get("ECP_COMMUNE_NAME") or base.commune_name,
            brand_colour=e.get("ECP_BRAND_COLOUR") or base.brand_colour,
            logo_path=e.get("ECP_LOGO_PATH") or base.logo_path,
            jobs_enabled=_bool(e.get("ECP_JOBS"), base.jobs_enabled),
            job_tick_seconds=float(e.get("ECP_JOB_TICK_SECONDS") or base.job_tick_seconds),
            job_lease_seconds=_int(e.get("ECP_JOB_LEASE_SECONDS"), base.job_lease_seconds),
            job_mail_seconds=_int(e.get("ECP_JOB_MAIL_SECONDS"), base.job_mail_seconds),
            job_reminders_seconds=_int(e.get("ECP_JOB_REMINDERS_SECONDS"),
                                       base.job_reminders_seconds),
            job_retention_seconds=_int(e.get("ECP_JOB_RETENTION_SECONDS"),
                                       base.job_retention_seconds),
            job_cleanup_seconds=_int(e.get("ECP_JOB_CLEANUP_SECONDS"), base.job_cleanup_seconds),
            reminder_weeks=_int(e.get("ECP_REMINDER_WEEKS"), base.reminder_weeks),
            metrics_allowed=_list(e.get("ECP_METRICS_ALLOWED")) or base.metrics_allowed,
            log_format=e.get("ECP_LOG_FORMAT") or base.log_format,
            log_level=(e.get("ECP_LOG_LEVEL") or base.log_level).upper(),
        )

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def staff_mfa_required(self) -> bool:
        return self.staff_mfa != "facultative"

    def cookie_name(self, name: str) -> str:
        """`__Host-` names need a Secure cookie, which a plain-http local demo cannot carry."""
        return f"__Host-{name}" if self.https else name

    def production_problems(self) -> list[str]:
        """Reasons the app must refuse to start with production settings."""
        problems = []
        if not self.is_production:
            return problems
        if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
            problems.append("ECP_SECRET_KEY doit être un secret propre d'au moins 32 caractères.")
        if self.payment_simulator:
            problems.append("Le simulateur de paiement doit être désactivé (ECP_PAYMENT_SIMULATOR=0).")
        if self.debug:
            problems.append("Le mode debug doit être désactivé (ECP_DEBUG=0).")
        if self.mail_dir:
            problems.append("ECP_MAIL_DIR (courriels écrits en fichiers) est réservé à la "
                            "démonstration locale\u00a0: configurez ECP_SMTP_HOST.")
        if not self.https:
            problems.append("ECP_BASE_URL doit commencer par https://.")
        if self.password_profile != "production":
            problems.append("ECP_PASSWORD_PROFILE doit valoir « production ».")
        if not self.staff_mfa_required:
            problems.append("La double authentification des agents doit être obligatoire "
                            "(ECP_STAFF_MFA=obligatoire).")
        if not self.payment_simulator:
            from ecp.payments.config import paybox_config

            problems.extend(paybox_config(self).problems())
        return problems
