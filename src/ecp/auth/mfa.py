"""Staff two-factor authentication (docs/security.md A10): the pending step between a correct
password and the TOTP code, enrolment, code checks with the account back-off, and resets.

A pending step is a random token in its own cookie (only its SHA-256 stored, like sessions),
valid five minutes, used once. A wrong code counts as a failed login of the account, like a
wrong password; a code is accepted once (the last accepted time step is kept per account).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import structlog

from ecp import clock
from ecp.auth import totp
from ecp.auth.passwords import Passwords
from ecp.auth.services import WRONG_CURRENT, Attempt, TooManyAttempts, check_current_password
from ecp.auth.sessions import close_all_for, hash_token
from ecp.auth.tables import PendingLogin, StaffTotp, StaffUser
from ecp.db import aware, write_transaction
from ecp.errors import Rejected

log = structlog.get_logger("ecp.auth")

COOKIE = "ecp_mfa"
PENDING_LIFETIME = dt.timedelta(minutes=5)
# How long a secret offered on the account page stays valid while the agent sets up the app.
CANDIDATE_LIFETIME = dt.timedelta(minutes=15)

GENERIC_CODE = (
    "Code incorrect ou expiré : saisissez le code affiché en ce moment par l’application."
)
WRONG_NEW_CODE = (
    "Code incorrect : saisissez le code que l’application affiche pour cette nouvelle clé."
)
EXPIRED_KEY = (
    "La clé proposée a expiré : une nouvelle clé est affichée. Ajoutez-la "
    "à votre application, puis saisissez son code."
)


def box(settings) -> totp.SecretBox:
    return totp.SecretBox(settings.secret_key)


def issuer(settings) -> str:
    return f"Portail Famille {settings.commune_name}"


@dataclass(frozen=True)
class Pending:
    id: int
    staff_id: int
    username: str
    next_path: str
    enrol_secret: str | None  # set when the account enrols at this login


class CodeRefused(Rejected):
    """A login code not accepted: one generic message whatever the reason (it reveals nothing
    about the account); `outcome` names the reason for the login events."""

    def __init__(self, outcome: str) -> None:
        super().__init__(GENERIC_CODE, field="code")
        self.outcome = outcome


class _Abort(Exception):
    """Rolls a transaction back (Piccolo's transaction context manager re-raises)."""


async def enrolled(staff_id: int) -> bool:
    return await StaffTotp.exists().where(StaffTotp.staff == staff_id)


async def enrolment(staff_id: int) -> dict | None:
    return await StaffTotp.select(StaffTotp.enrolled_at).where(StaffTotp.staff == staff_id).first()


async def start_pending(
    staff_id: int, next_path: str, secret_box: totp.SecretBox, *, enrol: bool
) -> str:
    """After a correct password: a fresh pending step (an older one of the account goes)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    candidate = secret_box.seal(totp.new_secret(), "pending", staff_id) if enrol else ""
    async with write_transaction():
        await PendingLogin.delete().where(
            (PendingLogin.expires_at < now) | (PendingLogin.staff == staff_id)
        )
        await PendingLogin.insert(
            PendingLogin(
                token_hash=hash_token(token),
                staff=staff_id,
                next_path=next_path[:300],
                enrol_secret=candidate,
                created_at=now,
                expires_at=now + PENDING_LIFETIME,
            )
        )
    return token


async def load_pending(token: str | None, secret_box: totp.SecretBox) -> Pending | None:
    """The live pending step of this cookie, or None (unknown, expired, account disabled)."""
    if not token or len(token) > 100:
        return None
    row = (
        await PendingLogin.select(
            PendingLogin.id,
            PendingLogin.next_path,
            PendingLogin.enrol_secret,
            PendingLogin.expires_at,
            PendingLogin.staff.id.as_alias("staff_id"),
            PendingLogin.staff.username.as_alias("username"),
            PendingLogin.staff.active.as_alias("active"),
        )
        .where(PendingLogin.token_hash == hash_token(token))
        .first()
    )
    if row is None or not row["active"] or aware(row["expires_at"]) <= clock.now():
        return None
    candidate = None
    if row["enrol_secret"]:
        candidate = secret_box.open(row["enrol_secret"], "pending", row["staff_id"])
        if candidate is None:
            return None
    return Pending(
        id=row["id"],
        staff_id=row["staff_id"],
        username=row["username"],
        next_path=row["next_path"],
        enrol_secret=candidate,
    )


async def discard_pending(token: str | None) -> None:
    if token:
        await PendingLogin.delete().where(PendingLogin.token_hash == hash_token(token))


async def check_login_code(
    pending: Pending, code: str, secret_box: totp.SecretBox, attempt: Attempt
) -> bool:
    """True once: the code is right, not used before, and the pending step was still unused
    (it is consumed). Otherwise False, counted like a wrong password (the attempt's lane and
    the account-wide ceiling); an account over the ceiling (for this client) or disabled is
    refused without counting, as for passwords. The caller has already asked
    `attempt.refusal()`."""
    row = attempt.row
    if row is None or not row["active"] or attempt.account_locked:
        return False
    now = clock.now()
    ok = False
    try:
        if pending.enrol_secret is not None:
            step = totp.matching_step(pending.enrol_secret, code, now)
            if step is not None:
                async with write_transaction():
                    await _consume(pending.id)
                    if await StaffTotp.exists().where(StaffTotp.staff == pending.staff_id):
                        raise _Abort()
                    await StaffTotp.insert(
                        StaffTotp(
                            staff=pending.staff_id,
                            last_step=step,
                            enrolled_at=now,
                            secret_encrypted=secret_box.seal(
                                pending.enrol_secret, "totp", pending.staff_id
                            ),
                        )
                    )
                ok = True
        else:
            stored = (
                await StaffTotp.select(StaffTotp.secret_encrypted, StaffTotp.last_step)
                .where(StaffTotp.staff == pending.staff_id)
                .first()
            )
            secret = (
                secret_box.open(stored["secret_encrypted"], "totp", pending.staff_id)
                if stored
                else None
            )
            step = totp.matching_step(secret, code, now, stored["last_step"]) if secret else None
            if step is not None:
                async with write_transaction():
                    await _claim_step(pending.staff_id, step)
                    await _consume(pending.id)
                ok = True
    except _Abort:
        ok = False
    if not ok:
        await attempt.failed()
        return False
    await attempt.succeeded()
    await StaffUser.update({StaffUser.last_login_at: now}).where(StaffUser.id == pending.staff_id)
    return True


async def verify_login_code(
    pending: Pending, code: str | None, attempt: Attempt, secret_box: totp.SecretBox
) -> bool:
    """The code step of a staff login (at enrolment too: the pending step knows which secret the
    code must come from), checked like a password (ecp.auth.throttle): the agent's lane from
    this browser, the address budget, the account-wide ceiling.

    True: accepted, the pending step consumed. False: `code` is None, nothing that could be a
    code was typed (the form says what): it could not have been right, so it is no failure of
    the lane, but it spends the address budget. Raises TooManyAttempts (the address is over
    its budget) or CodeRefused (the lane waits, or a wrong or replayed code)."""
    refusal = await attempt.refusal()
    if refusal is not None and refusal.reason == "rate":
        raise TooManyAttempts(refusal)
    if code is None:
        await attempt.failed(checked=False)
        return False
    if refusal is not None:
        await attempt.failed(checked=False)
        raise CodeRefused("code_refused")
    if await check_login_code(pending, code, secret_box, attempt):
        return True
    raise CodeRefused("code_failure")


async def _consume(pending_id: int) -> None:
    """Single use: of two requests racing with one pending step, one finds it gone."""
    gone = (
        await PendingLogin.delete().where(PendingLogin.id == pending_id).returning(PendingLogin.id)
    )
    if not gone:
        raise _Abort()


async def _claim_step(staff_id: int, step: int) -> None:
    """No replay, even for two requests at once: the step moves forward only once."""
    claimed = (
        await StaffTotp.update({StaffTotp.last_step: step})
        .where(
            (StaffTotp.staff == staff_id)
            & (StaffTotp.last_step.is_null() | (StaffTotp.last_step < step))
        )
        .returning(StaffTotp.id)
    )
    if not claimed:
        raise _Abort()


async def replace_authenticator(
    staff_id: int, secret: str, code: str, secret_box: totp.SecretBox
) -> bool:
    """Enrolment or re-enrolment from the account page: the code must come from `secret`."""
    now = clock.now()
    step = totp.matching_step(secret, code, now)
    if step is None:
        return False
    sealed = secret_box.seal(secret, "totp", staff_id)
    async with write_transaction():
        await StaffTotp.delete().where(StaffTotp.staff == staff_id)
        await StaffTotp.insert(
            StaffTotp(staff=staff_id, secret_encrypted=sealed, last_step=step, enrolled_at=now)
        )
    return True


def new_candidate(secret_box: totp.SecretBox, staff_id: int) -> tuple[str, str]:
    """A new secret offered on the account page, and its sealed copy for the form to carry
    (nothing is written before the agent proves the app holds it)."""
    secret = totp.new_secret()
    return secret, secret_box.seal_candidate(secret, staff_id, clock.now() + CANDIDATE_LIFETIME)


def open_candidate(secret_box: totp.SecretBox, sealed: str, staff_id: int) -> str | None:
    """The secret a form carried back; None when it expired or was altered."""
    return secret_box.open_candidate(sealed, staff_id, clock.now())


async def add_authenticator(
    attempt: Attempt,
    passwords: Passwords,
    secret_box: totp.SecretBox,
    *,
    staff_id: int,
    keep_session_id: int,
    secret: str,
    password: str,
    code: str | None,
) -> bool:
    """Enrolment, or a new phone, from the agent's account page. The current password proves
    the person (a guess here costs the lane and the ceiling of the login), a code that the app
    holds `secret`. On success the sessions opened with the old authenticator end, this one
    (`keep_session_id`) stays.

    `password` empty or `code` None: the form has refused them and nothing is written (False),
    but a password given is still checked, as it always was. Raises TooManyAttempts, or
    Rejected on the field to blame (the current password, then the code)."""
    if password:
        ok, refusal = await check_current_password(attempt, password, passwords)
        if refusal is not None and refusal.reason == "rate":
            raise TooManyAttempts(refusal)
        if refusal is not None:
            raise Rejected(refusal.wait_message(), field="mot_de_passe_actuel")
        if not ok:
            raise Rejected(WRONG_CURRENT, field="mot_de_passe_actuel")
    if not password or code is None:
        return False
    if not await replace_authenticator(staff_id, secret, code, secret_box):
        await attempt.failed()
        raise Rejected(WRONG_NEW_CODE, field="code")
    await attempt.succeeded()
    await close_all_for(staff_id=staff_id, keep_session_id=keep_session_id)
    log.info("staff_totp_enrolled", account_id=staff_id)
    return True


async def reset(staff_id: int) -> bool:
    """An administrator's reset: the authenticator and any pending login go; True if there
    was an authenticator. The caller ends the member's sessions and writes the journal."""
    removed = await StaffTotp.delete().where(StaffTotp.staff == staff_id).returning(StaffTotp.id)
    await PendingLogin.delete().where(PendingLogin.staff == staff_id)
    return bool(removed)
