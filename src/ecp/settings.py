"""Runtime configuration: one frozen dataclass read from ECP_* environment variables.

Each setting is declared once, as a field made by `env(...)`: the environment variable that sets
it, its default, a one-line meaning and (when not plain text) how the variable's text is read.
`Settings.from_env` walks the fields, so adding a setting is adding one field. The Paybox part is
a nested dataclass declared the same way (PayboxConfig, below). README.md's
configuration tables list every variable; tests/unit/test_settings_documented.py checks it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ecp.resources import PACKAGE

# Writable data (the SQLite file, the Paybox spool and test keys) defaults to var/ in the working
# directory: the checkout for `make run`, /app in the image. Never next to the code: an installed
# package lives in site-packages, which the app cannot (and should not) write to. Each of these
# paths has its own variable (ECP_DATABASE_URL, ECP_PAYBOX_SPOOL_DIR, ECP_PAYBOX_TEST_KEYS_DIR).
DATA_DIR = Path.cwd() / "var"
DEFAULT_SECRET = "dev-secret-change-me-dev-secret-change-me"
# Staff two-factor authentication (docs/security.md A10): "obligatoire" everywhere but the local demo.
STAFF_MFA_MODES = ("obligatoire", "facultative")
TRUE_WORDS = ("1", "true", "yes", "on", "oui")
FALSE_WORDS = ("0", "false", "no", "off", "non")


class SettingsError(ValueError):
    """An environment variable the app cannot use; the message is French, for the operator."""


# Parsers: text of a set (non-blank) variable -> value. A ValueError's message says, in French,
# what the variable should hold; read_env puts the variable's name in front of it.


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    # A typo must not silently pick a side (ECP_SMTP_STARTTLS=ture would send mail in clear).
    raise ValueError("doit valoir 1, true, yes, on, oui ou 0, false, no, off, non")


def parse_int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("doit être un nombre entier") from None


def parse_float(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError("doit être un nombre (point décimal)") from None


def parse_list(value: str) -> tuple[str, ...]:
    """Comma-separated; an empty list counts as unset (the default applies)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_text(value: str) -> str:
    return value


def parse_stripped(value: str) -> str:
    return value.strip()


def parse_url(value: str) -> str:
    return value.strip().rstrip("/")


def parse_upper(value: str) -> str:
    return value.strip().upper()


def parse_iban(value: str) -> str:
    """An IBAN as printed on a RIB (spaces allowed), checked by its ISO 13616 key."""
    iban = "".join(value.split()).upper()
    if not (
        15 <= len(iban) <= 34 and iban[:2].isalpha() and iban[2:4].isdigit() and iban.isalnum()
    ):
        raise ValueError("doit être un IBAN, par exemple FR76 3000 1007 9412 3456 7890 185")
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValueError("n’est pas un IBAN valide (clé de contrôle fausse)")
    return iban


def parse_bic(value: str) -> str:
    bic = value.strip().upper()
    if len(bic) not in (8, 11) or not bic.isalnum() or not bic[4:6].isalpha():
        raise ValueError("doit être un BIC de 8 ou 11 caractères, par exemple BDFEFRPPCCT")
    return bic


def parse_staff_mfa(value: str) -> str:
    mode = value.strip().lower()
    if mode not in STAFF_MFA_MODES:
        # A typo must not quietly weaken (or strengthen) the login: refuse to start.
        raise ValueError("doit valoir « obligatoire » ou « facultative »")
    return mode


PAYMENT_PROVIDERS = ("paybox", "payfip")


def parse_providers(value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    if not chosen or any(p not in PAYMENT_PROVIDERS for p in chosen):
        raise ValueError("doit valoir paybox, payfip ou paybox,payfip")
    return chosen


def _parser_for(default: Any) -> Callable[[str], Any]:
    if isinstance(default, bool):  # before int: a bool is an int
        return parse_bool
    if isinstance(default, int):
        return parse_int
    if isinstance(default, float):
        return parse_float
    if isinstance(default, tuple):
        return parse_list
    return parse_text  # str, or None for an optional string


def env(
    name: str, default: Any, doc: str, parse: Callable[[str], Any] | None = None, **options: Any
) -> Any:
    """A field set by the environment variable `name` (unset or blank: `default`)."""
    metadata = {"env": name, "doc": doc, "parse": parse or _parser_for(default)}
    return field(default=default, metadata=metadata, **options)


def declared(cls: type) -> list[tuple[str, Any, str]]:
    """(variable, default, meaning) of every environment-set field of a settings dataclass."""
    return [
        (f.metadata["env"], f.default, f.metadata["doc"])
        for f in fields(cls)
        if "env" in f.metadata
    ]


def read_env(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    """The fields of `cls` that `env` sets, parsed; unset, blank or empty-list ones are left out."""
    values = {}
    for f in fields(cls):
        name = f.metadata.get("env")
        raw = env.get(name) if name else None
        if raw is None or not raw.strip():
            continue
        try:
            value = f.metadata["parse"](raw)
        except ValueError as exc:
            raise SettingsError(f"{name} {exc} (valeur reçue : « {raw.strip()} »).") from None
        if value != ():
            values[f.name] = value
    return values


# Paybox settings, the `paybox` part of Settings (ecp.payments.config uses them).
KEYS_DIR = PACKAGE / "payments" / "keys"
SHIPPED_KEYS = (KEYS_DIR / "pubkey-rsa1024-2014.pem", KEYS_DIR / "pubkey-rsa2048-2025.pem")
SIMULATOR_PATH = "/simulateur-paybox/paiement"
IPN_PATH = "/paiement/paybox/ipn"
# Paybox's published pre-production account (docs/payments.md): harmless, for the simulator only.
TEST_SITE, TEST_RANG, TEST_IDENTIFIANT = "1999888", "32", "107904482"
TEST_HMAC_KEY = "0123456789ABCDEF" * 8
DEFAULT_TEST_KEYS_DIR = DATA_DIR / "paybox-test-keys"
# Signed notifications wait here until recorded (ecp.payments.spool); must survive restarts.
DEFAULT_SPOOL_DIR = DATA_DIR / "paybox-spool"


@dataclass(frozen=True)
class PayboxConfig:
    # The defaults are production's (nothing: the commune gives its contract's values); the
    # simulator's test account comes from defaults(simulator=True).
    site: str = env("ECP_PAYBOX_SITE", "", "the 7-digit site number of the contract")
    rang: str = env("ECP_PAYBOX_RANG", "", "the rang, leading zeros included (e.g. 001)")
    identifiant: str = env("ECP_PAYBOX_IDENTIFIANT", "", "the Paybox identifiant (1 to 9 digits)")
    hmac_key: str = env(
        "ECP_PAYBOX_HMAC_KEY",
        "",
        "the back office's hexadecimal HMAC key",
        parse_stripped,
        repr=False,
    )  # never logged
    endpoints: tuple[str, ...] = env(
        "ECP_PAYBOX_URLS", (), "payment pages, main then backup (ignored by the simulator)"
    )
    public_key_files: tuple[str, ...] = env(
        "ECP_PAYBOX_PUBLIC_KEYS",
        tuple(str(p) for p in SHIPPED_KEYS),
        "PEM files of Paybox's public keys (default: the two shipped keys)",
    )
    ipn_sources: tuple[str, ...] = env(
        "ECP_PAYBOX_IPN_SOURCES", (), "Paybox's sending addresses (others are logged)"
    )
    # From ECP_PAYMENT_SIMULATOR (Settings.payment_simulator), not a variable of its own.
    simulator: bool = False
    test_keys_dir: str = env(
        "ECP_PAYBOX_TEST_KEYS_DIR",
        str(DEFAULT_TEST_KEYS_DIR),
        "where the simulator keeps its generated key pair",
    )
    spool_dir: str = env(
        "ECP_PAYBOX_SPOOL_DIR",
        str(DEFAULT_SPOOL_DIR),
        "where signed notifications wait while the database is unavailable",
    )
    hash: str = "SHA512"
    minimum_cents: int = 100  # Paybox refuses less than 1 € on some contracts

    @classmethod
    def defaults(cls, simulator: bool) -> PayboxConfig:
        """The configuration when no ECP_PAYBOX_* variable is set."""
        if not simulator:
            return cls()
        return cls(
            site=TEST_SITE,
            rang=TEST_RANG,
            identifiant=TEST_IDENTIFIANT,
            hmac_key=TEST_HMAC_KEY,
            endpoints=(SIMULATOR_PATH,),
            simulator=True,
        )

    @classmethod
    def from_env(cls, e: Mapping[str, str], *, simulator: bool) -> PayboxConfig:
        values = read_env(cls, e)
        if simulator:
            # The simulator ignores ECP_PAYBOX_URLS: the demo must never post to a real bank.
            values.pop("endpoints", None)
        return replace(cls.defaults(simulator), **values)

    def problems(self) -> list[str]:
        """Why card payment cannot be offered with this configuration (French, for admins)."""
        found = []
        if not self.site.isdigit() or len(self.site) != 7:
            found.append("ECP_PAYBOX_SITE doit compter 7 chiffres.")
        if not self.rang.isdigit() or not 2 <= len(self.rang) <= 3:
            found.append("ECP_PAYBOX_RANG doit compter 2 ou 3 chiffres.")
        if not self.identifiant.isdigit() or not 1 <= len(self.identifiant) <= 9:
            found.append("ECP_PAYBOX_IDENTIFIANT doit compter 1 à 9 chiffres.")
        try:
            if len(bytes.fromhex(self.hmac_key)) < 32:
                raise ValueError
        except ValueError:
            found.append("ECP_PAYBOX_HMAC_KEY doit être la clé hexadécimale du back-office.")
        if not self.endpoints:
            found.append("ECP_PAYBOX_URLS doit donner au moins une adresse de paiement.")
        if not self.simulator and any(not e.startswith("https://") for e in self.endpoints):
            found.append("Les adresses ECP_PAYBOX_URLS doivent commencer par https://.")
        if not self.public_key_files and not self.simulator:
            found.append("ECP_PAYBOX_PUBLIC_KEYS doit citer au moins une clé publique.")
        for name in self.public_key_files:
            if not Path(name).is_file():
                found.append(f"Clé publique introuvable : {name}.")
        return found

    @property
    def ready(self) -> bool:
        return not self.problems()


@dataclass(frozen=True)
class Settings:
    database_url: str = env(
        "ECP_DATABASE_URL",
        f"sqlite:///{DATA_DIR / 'ecp.sqlite'}",
        "sqlite:///path or postgresql://user:password@host/db",
    )
    secret_key: str = env(
        "ECP_SECRET_KEY",
        DEFAULT_SECRET,
        "signs CSRF tokens and flash messages, encrypts TOTP secrets",
        repr=False,
    )
    base_url: str = env(
        "ECP_BASE_URL",
        "http://127.0.0.1:8000",
        "public address; https:// turns on Secure __Host- cookies and HSTS",
        parse_url,
    )
    environment: str = env(
        "ECP_ENV", "development", "production turns on the start-up refusals (production_problems)"
    )
    debug: bool = env(
        "ECP_DEBUG", False, "Litestar debug pages (tracebacks); refused in production"
    )
    redis_url: str | None = env(
        "ECP_REDIS_URL", None, "shared store for rate limits and flash messages across processes"
    )
    allowed_hosts: tuple[str, ...] = env(
        "ECP_ALLOWED_HOSTS", (), "Host values accepted (default: host of ECP_BASE_URL)"
    )
    trusted_proxies: tuple[str, ...] = env(
        "ECP_TRUSTED_PROXIES", (), "addresses whose X-Forwarded-For is believed"
    )
    # Password hashing: "production" pins argon2id m=19 MiB t=2 p=1; "test" is argon2's CHEAPEST.
    password_profile: str = env(
        "ECP_PASSWORD_PROFILE",
        "production",
        "argon2id cost: production (OWASP), test only for the tests",
    )
    # Each argon2 hash takes 19 MiB: two at once bound a login storm's extra memory to ~40 MB.
    hash_concurrency: int = env(
        "ECP_HASH_CONCURRENCY", 2, "password hashes computed at once per process"
    )
    session_idle_minutes: int = env(
        "ECP_SESSION_IDLE_MINUTES", 30, "a session unused this long ends"
    )
    session_absolute_hours: int = env(
        "ECP_SESSION_ABSOLUTE_HOURS", 12, "a session ends this long after login, used or not"
    )
    login_rate_per_minute: int = env(
        "ECP_LOGIN_RATE_PER_MINUTE", 10, "failed logins per minute and client address"
    )
    reset_rate_per_minute: int = env(
        "ECP_RESET_RATE_PER_MINUTE", 5, "password-reset requests per minute and client address"
    )
    # Account back-off: after this many failures the account waits 2^(n - threshold) minutes.
    lockout_threshold: int = env(
        "ECP_LOCKOUT_THRESHOLD", 5, "failures of one client on one account before it must wait"
    )
    lockout_max_minutes: int = env(
        "ECP_LOCKOUT_MAX_MINUTES", 60, "longest wait of the login back-off (doubling from 1 minute)"
    )
    # Account-wide ceiling over every client without a device cookie (ecp.auth.throttle).
    lockout_account_threshold: int = env(
        "ECP_LOCKOUT_ACCOUNT_THRESHOLD",
        20,
        "failures on one account after which unknown browsers wait too",
    )
    # "obligatoire": no staff session without a verified TOTP code (enrolment at first login).
    # "facultative" (the local demo only): enrolled staff give their code, others may enrol.
    staff_mfa: str = env(
        "ECP_STAFF_MFA",
        "obligatoire",
        "staff TOTP: obligatoire, or facultative (local demo only)",
        parse_staff_mfa,
    )
    payment_simulator: bool = env(
        "ECP_PAYMENT_SIMULATOR",
        True,
        "local Paybox simulator instead of the bank; refused in production",
    )
    # Card payment providers offered to the families (ecp.payments.payfip for PayFiP).
    payment_providers: tuple[str, ...] = env(
        "ECP_PAYMENT_PROVIDERS",
        ("paybox",),
        "card payment: paybox, payfip, or paybox,payfip (the family then chooses)",
        parse_providers,
    )
    payfip_numcli: str = env(
        "ECP_PAYFIP_NUMCLI", "", "the régie's PayFiP client number (6 digits, from the DGFiP)"
    )
    payfip_saisie: str = env(
        "ECP_PAYFIP_SAISIE", "W", "PayFiP mode: T (test), X (activation), W (production)"
    )
    payfip_service_url: str = env(
        "ECP_PAYFIP_SERVICE_URL",
        "https://www.payfip.gouv.fr/tpa/services/securite",
        "PayFiP's SOAP endpoint (ignored by the simulator)",
    )
    payfip_payment_url: str = env(
        "ECP_PAYFIP_PAYMENT_URL",
        "https://www.payfip.gouv.fr/tpa/paiementws.web",
        "PayFiP's payment page, the idop is added to it (ignored by the simulator)",
    )
    # SEPA direct debit (ecp.payments.mandates, ecp.payments.debits).
    sepa_creditor_id: str = env(
        "ECP_SEPA_ICS", "", "the commune's SEPA creditor identifier (ICS), e.g. FR12ZZZ123456"
    )
    sepa_creditor_name: str = env(
        "ECP_SEPA_CREDITOR_NAME", "", "creditor name on debit files (default: the commune's)"
    )
    sepa_creditor_iban: str = env(
        "ECP_SEPA_CREDITOR_IBAN", "", "the régie's account credited by the debits (IBAN)"
    )
    sepa_creditor_bic: str = env("ECP_SEPA_CREDITOR_BIC", "", "the BIC of that account")
    bank_data_key: str = env(
        "ECP_BANK_DATA_KEY",
        "",
        "encrypts IBANs at rest (default: derived from ECP_SECRET_KEY)",
        repr=False,
    )
    # Built from the ECP_PAYBOX_* variables (PayboxConfig); None: the defaults of the
    # payment_simulator mode, filled in by __post_init__.
    paybox: PayboxConfig = field(default=None, metadata={"nested": "ECP_PAYBOX_"})
    smtp_host: str | None = env(
        "ECP_SMTP_HOST", None, "SMTP server; without it mail waits in the outbox (or ECP_MAIL_DIR)"
    )
    smtp_port: int = env("ECP_SMTP_PORT", 25, "SMTP port")
    smtp_user: str | None = env("ECP_SMTP_USER", None, "SMTP login (with ECP_SMTP_PASSWORD)")
    smtp_password: str | None = env("ECP_SMTP_PASSWORD", None, "SMTP password", repr=False)
    smtp_starttls: bool = env("ECP_SMTP_STARTTLS", False, "STARTTLS before logging in to SMTP")
    mail_from: str = env(
        "ECP_MAIL_FROM",
        "Portail Famille <ne-pas-repondre@villebelle-sur-seine.fr>",
        "sender of every e-mail",
    )
    # The local demo's mailbox: without an SMTP host, e-mails are delivered as .eml files here.
    mail_dir: str | None = env(
        "ECP_MAIL_DIR", None, "local demo only: e-mails written as .eml files in this folder"
    )
    commune_name: str = env("ECP_COMMUNE_NAME", "Villebelle-sur-Seine", "the commune's name")
    # The régie's account, printed on every invoice for a payment « par virement » (with the
    # invoice's number as the reference); without it the invoice says to ask the service.
    regie_iban: str = env(
        "ECP_REGIE_IBAN", "", "IBAN of the régie's account, printed on invoices", parse_iban
    )
    regie_bic: str = env("ECP_REGIE_BIC", "", "BIC of the régie's account", parse_bic)
    regie_holder: str = env(
        "ECP_REGIE_TITULAIRE", "", "holder of the régie's account (default: Régie de <commune>)"
    )
    brand_colour: str = env(
        "ECP_BRAND_COLOUR", "#1d4e89", "brand colour (below 4.5:1 on white, the default is used)"
    )
    logo_path: str = env("ECP_LOGO_PATH", "img/logo.svg", "logo, under static/")
    jobs_enabled: bool = env("ECP_JOBS", True, "run the background jobs in this process")
    # Job runner: a pass every tick; a lease not renewed for job_lease_seconds is taken over.
    job_tick_seconds: float = env("ECP_JOB_TICK_SECONDS", 5.0, "seconds between job-runner passes")
    job_lease_seconds: int = env(
        "ECP_JOB_LEASE_SECONDS", 30, "a job's lease not renewed this long moves to another process"
    )
    job_mail_seconds: int = env("ECP_JOB_MAIL_SECONDS", 30, "period of the outbox sender")
    job_reminders_seconds: int = env(
        "ECP_JOB_REMINDERS_SECONDS", 900, "period of the booking reminders"
    )
    job_retention_seconds: int = env(
        "ECP_JOB_RETENTION_SECONDS", 86400, "period of the personal-data retention pass"
    )
    job_cleanup_seconds: int = env(
        "ECP_JOB_CLEANUP_SECONDS", 3600, "period of the clean-up of expired sessions and tokens"
    )
    # A day a child "usually attends" = booked on that weekday in each of these previous weeks.
    reminder_weeks: int = env(
        "ECP_REMINDER_WEEKS", 3, "weeks of bookings that make a weekday usual (reminders)"
    )
    # /metrics answers only these client addresses or networks (others get 404).
    metrics_allowed: tuple[str, ...] = env(
        "ECP_METRICS_ALLOWED", ("127.0.0.1", "::1"), "addresses or networks that may read /metrics"
    )
    log_format: str = env("ECP_LOG_FORMAT", "json", "json, or console for a developer's terminal")
    log_level: str = env("ECP_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR", parse_upper)
    # The monthly billing run commits every billing_batch families (resumable after a crash).
    billing_batch: int = env("ECP_BILLING_BATCH", 200, "families billed per transaction")
    billing_pause: float = env(
        "ECP_BILLING_PAUSE", 0.0, "seconds of pause between billing batches (eases the database)"
    )
    # `ecp serve` (the container's entry point passes its own, see deploy/docker-entrypoint.sh).
    host: str = env("ECP_HOST", "127.0.0.1", "address `ecp serve` listens on")
    port: int = env("ECP_PORT", 8000, "port `ecp serve` listens on")
    workers: int = env("ECP_WORKERS", 1, "worker processes of `ecp serve`")
    # Read by `ecp create-admin` only, so that scripts need not type it in a terminal.
    admin_password: str | None = env(
        "ECP_ADMIN_PASSWORD",
        None,
        "password of `ecp create-admin` (else asked in a terminal)",
        repr=False,
    )
    # The RGAA status the home page, the footer and the accessibility statement show: « non
    # conforme » until an external audit has measured it (the law's wording for a portal
    # never audited); the self-evaluation (docs/rgaa.md) does not change it.
    accessibility_status: str = "non conforme"
    # One-off overrides of values that are not settings (ecp.accounts.retention's years); not
    # compared, so that equal settings stay equal.
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.paybox is None:
            object.__setattr__(self, "paybox", PayboxConfig.defaults(self.payment_simulator))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        values = read_env(cls, e)
        simulator = values.get("payment_simulator", cls.payment_simulator)
        return cls(**values, paybox=PayboxConfig.from_env(e, simulator=simulator))

    def with_(self, **changes) -> Settings:
        if "payment_simulator" in changes and "paybox" not in changes:
            # Paybox settings left to their defaults follow the mode: the simulator's test
            # account with the simulator, nothing (production gives its own) without it.
            if self.paybox == PayboxConfig.defaults(self.payment_simulator):
                changes["paybox"] = None
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
            problems.append(
                "Le simulateur de paiement doit être désactivé (ECP_PAYMENT_SIMULATOR=0)."
            )
        if self.debug:
            problems.append("Le mode debug doit être désactivé (ECP_DEBUG=0).")
        if self.mail_dir:
            problems.append(
                "ECP_MAIL_DIR (courriels écrits en fichiers) est réservé à la "
                "démonstration locale\u00a0: configurez ECP_SMTP_HOST."
            )
        if not self.https:
            problems.append("ECP_BASE_URL doit commencer par https://.")
        if self.password_profile != "production":
            problems.append("ECP_PASSWORD_PROFILE doit valoir « production ».")
        if not self.staff_mfa_required:
            problems.append(
                "La double authentification des agents doit être obligatoire "
                "(ECP_STAFF_MFA=obligatoire)."
            )
        if not self.payment_simulator:
            if "paybox" in self.payment_providers:
                problems.extend(self.paybox.problems())
            if "payfip" in self.payment_providers:
                if not (self.payfip_numcli.isdigit() and len(self.payfip_numcli) == 6):
                    problems.append("ECP_PAYFIP_NUMCLI doit compter 6 chiffres.")
                if self.payfip_saisie not in ("T", "X", "W"):
                    problems.append("ECP_PAYFIP_SAISIE doit valoir T, X ou W.")
                if not self.payfip_service_url.startswith("https://"):
                    problems.append("ECP_PAYFIP_SERVICE_URL doit commencer par https://.")
        return problems
