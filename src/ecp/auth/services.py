"""Authentication with back-off (ecp.auth.throttle): at most one Argon2 verify per attempt and
none for an attempt refused unchecked, one generic answer. For staff, a correct password may
only open the way to the second factor (ecp.auth.mfa).

`Attempt` is shared by every place a secret of an account is checked: the two login forms, the
staff code step and the change-password forms, so a guess costs the same everywhere and counts
in the same lane and the same account-wide ceiling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ecp import clock
from ecp.audit.services import Actor, record
from ecp.auth.passwords import Passwords
from ecp.auth.tables import StaffTotp, StaffUser
from ecp.auth.throttle import Client, DeviceCookies, Refusal, Throttle, backoff_until
from ecp.db import aware
from ecp.families.tables import Family

__all__ = [
    "Attempt",
    "LoginResult",
    "PasswordChange",
    "TooManyAttempts",
    "authenticate_family",
    "authenticate_staff",
    "backoff_until",
    "change_password",
    "check_current_password",
    "choose_first_password",
    "normalise",
]

TABLES = {"family": Family, "staff": StaffUser}


class TooManyAttempts(Exception):
    """The client's address has spent its budget (ecp.auth.throttle): nothing was checked, and
    the caller answers 429 with the refusal's Retry-After."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    account_id: int | None = None
    # "code" (the account gives its TOTP code) or "activation" (it enrols first); None: done.
    second_factor: str | None = None
    # Set when the attempt was refused without checking the password.
    refusal: Refusal | None = None


def normalise(kind: str, login: str) -> str:
    login = login.strip()
    return login.upper() if kind == "family" else login.lower()


class Attempt:
    """One check of an account's secret from one client. `row` holds the account's id,
    password_hash, active, failed_logins and locked_until (None: no such account; the
    lane, keyed on the identifier as typed, then behaves exactly as for a real one)."""

    def __init__(
        self,
        kind: str,
        login: str,
        row: dict | None,
        *,
        throttle: Throttle,
        devices: DeviceCookies,
        address: str,
        device_cookie: str | None,
        account_threshold: int,
        max_minutes: int,
    ) -> None:
        self.kind, self.login, self.row = kind, normalise(kind, login), row
        self.table = TABLES[kind]
        self.throttle = throttle
        self.account_threshold, self.max_minutes = account_threshold, max_minutes
        device = devices.device(
            device_cookie, kind, row["id"] if row else None, row["password_hash"] if row else None
        )
        self.client = Client(address, device)

    @property
    def trusted(self) -> bool:
        return self.client.device is not None

    async def refusal(self) -> Refusal | None:
        return await self.throttle.refusal(self.kind, self.login, self.client)

    async def checking(self) -> None:
        await self.throttle.checking(self.client)

    @property
    def account_locked(self) -> bool:
        """The account-wide ceiling; a browser with the account's device cookie is exempt."""
        if self.row is None or self.trusted:
            return False
        return self._ceiling_reached()

    def _ceiling_reached(self) -> bool:
        until = aware(self.row["locked_until"]) if self.row else None
        return until is not None and until > clock.now()

    async def failed(self, *, checked: bool = True) -> None:
        counts = await self.throttle.failed(self.kind, self.login, self.client, checked=checked)
        if not counts or self.row is None or self._ceiling_reached():
            return
        t = self.table
        rows = (
            await t.update({t.failed_logins: t.failed_logins + 1})
            .where(t.id == self.row["id"])
            .returning(t.failed_logins)
        )
        failures = rows[0]["failed_logins"] if rows else 0
        until = backoff_until(failures, self.account_threshold, self.max_minutes)
        if until is not None:
            await t.update({t.locked_until: until}).where(t.id == self.row["id"])

    async def succeeded(self) -> None:
        """The lane forgets its failures; so does the account-wide count (as before: a
        distributed attacker thus gets a fresh ceiling only when the parent logs in)."""
        await self.throttle.succeeded(self.kind, self.login, self.client)
        if self.row is not None:
            t = self.table
            await t.update({t.failed_logins: 0, t.locked_until: None}).where(t.id == self.row["id"])


async def account_row(kind: str, login: str) -> dict | None:
    t = TABLES[kind]
    key = t.code if kind == "family" else t.username
    return (
        await t.select(t.id, t.password_hash, t.active, t.failed_logins, t.locked_until)
        .where(key == normalise(kind, login))
        .first()
    )


async def account_row_by_id(kind: str, account_id: int) -> dict | None:
    t = TABLES[kind]
    return (
        await t.select(
            t.id,
            t.password_hash,
            t.active,
            t.failed_logins,
            t.locked_until,
            (t.code if kind == "family" else t.username).as_alias("login"),
        )
        .where(t.id == account_id)
        .first()
    )


async def _authenticate(
    attempt: Attempt,
    password: str,
    passwords: Passwords,
    second_factor: Callable[[int], Awaitable[str | None]] | None = None,
) -> LoginResult:
    refusal = await attempt.refusal()
    if refusal is not None:
        # No hash: a lane in back-off or an address over its budget (both keyed on what the
        # client sent, not on the account, so this says nothing about the account).
        if refusal.reason == "backoff":
            await attempt.failed(checked=False)
        return LoginResult(False, refusal=refusal)
    await attempt.checking()
    row, table = attempt.row, attempt.table
    stored = row["password_hash"] if row else None
    # One verify for unknown, wrong, disabled and account-locked alike (A6).
    ok = await passwords.verify(stored, password)
    if row is None:
        await attempt.failed()
        return LoginResult(False)
    if ok and row["active"] and not attempt.account_locked:
        # Asked only once the password is right: the failure paths stay identical (A6).
        factor = await second_factor(row["id"]) if second_factor else None
        if factor is None:
            await attempt.succeeded()
            await table.update({table.last_login_at: clock.now()}).where(table.id == row["id"])
        # With a second factor to come, the failure counts stay: else a password known to an
        # attacker would reset the back-off between each series of guessed codes.
        if passwords.needs_rehash(stored):
            await table.update({table.password_hash: await passwords.hash(password)}).where(
                table.id == row["id"]
            )
        return LoginResult(True, row["id"], second_factor=factor)
    await attempt.failed()
    return LoginResult(False)


async def authenticate_family(attempt: Attempt, password: str, passwords: Passwords) -> LoginResult:
    return await _authenticate(attempt, password, passwords)


async def authenticate_staff(
    attempt: Attempt, password: str, passwords: Passwords, *, mfa_required: bool = True
) -> LoginResult:
    """An enrolled account always gives its code; with `mfa_required` (ECP_STAFF_MFA
    obligatoire) an account without an authenticator enrols before any session."""

    async def second_factor(staff_id: int) -> str | None:
        if await StaffTotp.exists().where(StaffTotp.staff == staff_id):
            return "code"
        return "activation" if mfa_required else None

    return await _authenticate(attempt, password, passwords, second_factor)


async def check_current_password(
    attempt: Attempt, password: str, passwords: Passwords
) -> tuple[bool, Refusal | None]:
    """A form behind a session asks for the current password: the same lane and ceiling as
    the login, but no account-wide lock (the session already proved a login). Refused
    unchecked (no hash) while the lane waits or the address is over its budget."""
    refusal = await attempt.refusal()
    if refusal is not None:
        if refusal.reason == "backoff":
            await attempt.failed(checked=False)
        return False, refusal
    await attempt.checking()
    ok = await passwords.verify(attempt.row["password_hash"], password)
    if not ok:
        await attempt.failed()
    return ok, None


@dataclass
class PasswordChange:
    """The outcome of a change-password form: errors by field id, or done."""

    errors: dict[str, str]
    outcome: str | None = None  # for the login events: "wrong_current" or "waiting"

    @property
    def done(self) -> bool:
        return not self.errors


WRONG_CURRENT = "Le mot de passe actuel est incorrect."
MISSING_CURRENT = "Saisissez votre mot de passe actuel."


async def change_password(
    attempt: Attempt,
    passwords: Passwords,
    *,
    current: str,
    new: str,
    confirmation: str,
    actor: Actor | None = None,
) -> PasswordChange:
    """One's own password, behind a session (a family's or an agent's: `attempt.kind`).

    Checks the form; on success stores the new hash and ends EVERY session of the account
    (the caller opens a fresh one for this browser). The account-wide count is reset: the
    guesses it counted were against a password that no longer exists. With an `actor` (an
    agent), the change is journalled in the same transaction. Raises TooManyAttempts when
    the address is over its budget."""
    from ecp.auth.policy import new_password_errors
    from ecp.auth.sessions import close_all_for
    from ecp.db import write_transaction

    errors: dict[str, str] = {}
    if not current:
        errors["mot_de_passe_actuel"] = MISSING_CURRENT
    else:
        ok, refusal = await check_current_password(attempt, current, passwords)
        if refusal is not None and refusal.reason == "rate":
            raise TooManyAttempts(refusal)
        if refusal is not None:
            # Nothing else is checked while the lane waits: the message says how long.
            return PasswordChange(
                {"mot_de_passe_actuel": refusal.wait_message()}, outcome="waiting"
            )
        if not ok:
            errors["mot_de_passe_actuel"] = WRONG_CURRENT
    errors.update(
        new_password_errors(
            new, confirmation, staff=attempt.kind == "staff", forbidden=(attempt.login,)
        )
    )
    if errors:
        wrong = errors.get("mot_de_passe_actuel") == WRONG_CURRENT
        return PasswordChange(errors, outcome="wrong_current" if wrong else None)
    new_hash = await passwords.hash(new)
    t, account_id = attempt.table, attempt.row["id"]
    async with write_transaction():
        await t.update(
            {
                t.password_hash: new_hash,
                t.failed_logins: 0,
                t.locked_until: None,
                t.must_change_password: False,
            }
        ).where(t.id == account_id)
        await close_all_for(**{f"{attempt.kind}_id": account_id})
        if actor is not None:
            await record(
                actor,
                "staff_password_changed",
                target=f"agent {attempt.row.get('login', attempt.login)}",
                details={"autres_connexions": "fermées"},
            )
    await attempt.throttle.succeeded(attempt.kind, attempt.login, attempt.client)
    return PasswordChange({})


SAME_AS_PROVISIONAL = "Choisissez un mot de passe différent du mot de passe provisoire."


async def choose_first_password(
    kind: str, account_id: int, passwords: Passwords, *, new: str, confirmation: str, actor: Actor
) -> dict[str, str] | None:
    """The password that replaces a provisional one (a welcome letter's, or one an
    administrator set), at the first login: the policy of every new password, and not the
    provisional one again. On success the account is no longer sent to the form, every
    session of it ends (the caller opens a fresh one for this browser) and the choice is
    journalled. Returns the errors by field ({} when done), None when the account has no
    provisional password (nothing to choose)."""
    from ecp.auth.policy import new_password_errors
    from ecp.auth.sessions import close_all_for
    from ecp.db import write_transaction

    t = TABLES[kind]
    login_column = t.code if kind == "family" else t.username
    row = (
        await t.select(t.password_hash, t.must_change_password, login_column.as_alias("login"))
        .where(t.id == account_id)
        .first()
    )
    if row is None or not row["must_change_password"]:
        return None
    errors = new_password_errors(
        new, confirmation, staff=kind == "staff", forbidden=(row["login"],)
    )
    if not errors and await passwords.verify(row["password_hash"], new):
        errors = {"nouveau_mot_de_passe": SAME_AS_PROVISIONAL}
    if errors:
        return errors
    new_hash = await passwords.hash(new)
    async with write_transaction():
        await t.update(
            {
                t.password_hash: new_hash,
                t.must_change_password: False,
                t.failed_logins: 0,
                t.locked_until: None,
            }
        ).where(t.id == account_id)
        await close_all_for(**{f"{kind}_id": account_id})
        await record(
            actor,
            "first_password_chosen",
            family_id=account_id if kind == "family" else None,
            target=row["login"] if kind == "family" else f"agent {row['login']}",
            details={"autres_connexions": "fermées"},
        )
    return {}
