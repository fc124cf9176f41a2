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

from ecp import clock
from ecp.auth import totp
from ecp.auth.services import Attempt
from ecp.auth.sessions import hash_token
from ecp.auth.tables import PendingLogin, StaffTotp, StaffUser
from ecp.db import aware, write_transaction

COOKIE = "ecp_mfa"
PENDING_LIFETIME = dt.timedelta(minutes=5)
# How long a secret offered on the account page stays valid while the agent sets up the app.
CANDIDATE_LIFETIME = dt.timedelta(minutes=15)


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


async def reset(staff_id: int) -> bool:
    """An administrator's reset: the authenticator and any pending login go; True if there
    was an authenticator. The caller ends the member's sessions and writes the journal."""
    removed = await StaffTotp.delete().where(StaffTotp.staff == staff_id).returning(StaffTotp.id)
    await PendingLogin.delete().where(PendingLogin.staff == staff_id)
    return bool(removed)
