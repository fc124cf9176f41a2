"""Slowing password guessing without handing anyone a way to lock a parent out.

Four rules, checked before any password is hashed (a refused attempt costs no Argon2 work):

1. The back-off belongs to a *lane*: one login identifier (code famille or username, as
   typed and normalised, whether or not the account exists) seen from one client. The client
   is the browser's device cookie when it carries a valid one for that very account (issued at
   each successful login, see `DeviceCookies`), otherwise the client address. After
   `lockout_threshold` failures in a lane the lane waits 1, 2, 4 ... minutes, capped at
   `lockout_max_minutes`: guessing from one address is as slow as it always was, but an
   attacker at A never makes the parent at B (or the parent's own phone, behind the same
   carrier NAT as the attacker) wait.
2. Per address, at most `login_rate_per_minute` *unsuccessful* attempts a minute, over every
   account, plus one for each distinct account that logged in successfully from that address
   in the last NAT_CREDIT_WINDOW, up to NAT_FACTOR times the base: successful logins are not
   counted, and a browser with a valid device cookie for the account it logs into counts
   against a budget of its own (the base size), not the address's. A carrier NAT address that
   hundreds of parents share on opening morning thus earns room for their typos, while a
   guessing script, which logs in to no account, keeps the base budget it always had (and
   one account it owns earns it a single extra attempt).
3. Per address, at most RATE_ATTEMPTS_FACTOR times the base password checks a minute, the
   successful ones included, plus the same credit, up to NAT_FACTOR times that: the Argon2
   bill of one address stays bounded (and the whole server's by the hashing queue).
4. Account-wide ceiling (`services.py`, the account's failed_logins/locked_until columns): a
   lane adds at most `lockout_threshold` failures to its account's count, and after
   `lockout_account_threshold` of them (so from that many / threshold distinct clients at
   least, a single address never gets there) the account backs off for every client *without
   a device cookie* for it. A distributed attacker is thus bounded like one address, while the
   parent's usual browser keeps logging in; a parent on a new device meanwhile waits, or uses
   « Mot de passe oublié » (which clears the count).

State lives in the rate-limit store (memory, or Redis when several processes run); keys are
HMACs, so the store holds neither codes nor addresses. Times come from ecp.clock, so tests move
them with clock.set_now; the store's own expiry (real time) only forgets stale entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass

from ecp import clock

STORE = "login_rate"
RATE_WINDOW = 60  # seconds
RATE_ATTEMPTS_FACTOR = 10
# A lane forgets its failures after a week without one (today's count never expired at all;
# a week keeps an attacker who pauses from getting fresh quick guesses every night).
LANE_TTL = dt.timedelta(days=7)
# Carrier NAT (rule 2): the successful logins of distinct accounts from one address over this
# window each add one attempt to the address's budget, up to NAT_FACTOR times the base.
NAT_CREDIT_WINDOW = 300  # seconds
NAT_FACTOR = 10
NAT_CREDIT_KEPT = 1000  # at most this many recent successes remembered per address
DEVICE_LIFETIME = dt.timedelta(days=180)


@dataclass(frozen=True)
class Client:
    address: str
    device: str | None = None  # the id of a device cookie valid for the account in question

    @property
    def ref(self) -> str:
        return f"d:{self.device}" if self.device else f"a:{self.address}"


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused unchecked: "backoff" (the lane waits) or "rate" (the address
    is over its budget for the minute)."""

    reason: str
    until: dt.datetime
    limit: int = 0

    @property
    def seconds(self) -> int:
        return max(1, math.ceil((self.until - clock.now()).total_seconds()))

    def wait_message(self) -> str:
        minutes = max(1, math.ceil(self.seconds / 60))
        delay = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return (
            f"Trop d’essais infructueux : par sécurité, aucun mot de passe n’est vérifié "
            f"pendant {delay}. Patientez {delay} avant de réessayer."
        )

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(self.seconds),
            "RateLimit-Policy": f"{self.limit}; w={RATE_WINDOW}",
        }


def backoff_until(failures: int, threshold: int, max_minutes: int) -> dt.datetime | None:
    """After `threshold` failures: 1, 2, 4 ... minutes, capped; the wait lifts by itself."""
    if failures < threshold:
        return None
    minutes = min(2 ** min(failures - threshold, 30), max_minutes)
    return clock.now() + dt.timedelta(minutes=minutes)


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def _at(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


class Throttle:
    def __init__(self, store, settings) -> None:
        self.store = store
        self.threshold = settings.lockout_threshold
        self.max_minutes = settings.lockout_max_minutes
        self.rate = settings.login_rate_per_minute
        self._key = hmac.new(
            settings.secret_key.encode(), b"ecp-login-throttle", hashlib.sha256
        ).digest()

    def _name(self, *parts: str) -> str:
        digest = hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()
        return f"{parts[0]}:{digest[:40]}"

    async def _read(self, key: str, default):
        raw = await self.store.get(key)
        return json.loads(raw) if raw else default

    # ---------------------------------------------------------------- lanes

    def _lane(self, kind: str, login: str, client: Client) -> str:
        return self._name("lane", kind, login, client.ref)

    async def lane_wait(self, kind: str, login: str, client: Client) -> dt.datetime | None:
        state = await self._read(self._lane(kind, login, client), {})
        until = state.get("until")
        if until is not None and _at(until) > clock.now():
            return _at(until)
        return None

    # ---------------------------------------------------------------- per address

    async def _recent(self, key: str) -> list[float]:
        horizon = _ts(clock.now()) - RATE_WINDOW
        return [t for t in await self._read(key, []) if horizon < t <= _ts(clock.now()) + 1]

    async def _append(self, key: str, recent: list[float]) -> None:
        await self.store.set(
            key, json.dumps([*recent, _ts(clock.now())]), expires_in=RATE_WINDOW * 2
        )

    async def _successes(self, address: str) -> list[list]:
        """[time, account] of the recent successful logins from this address."""
        horizon = _ts(clock.now()) - NAT_CREDIT_WINDOW
        entries = await self._read(self._name("ok", address), [])
        return [e for e in entries if horizon < e[0] <= _ts(clock.now()) + 1]

    async def credit(self, address: str) -> int:
        """Rule 2's credit: distinct accounts logged in from this address lately."""
        return len({account for _t, account in await self._successes(address)})

    def budgets(self, credit: int) -> tuple[int, int]:
        """(unsuccessful attempts, password checks) one address may make in a minute."""
        checks = self.rate * RATE_ATTEMPTS_FACTOR
        return (
            min(self.rate + credit, self.rate * NAT_FACTOR),
            min(checks + credit, checks * NAT_FACTOR),
        )

    async def refusal(self, kind: str, login: str, client: Client) -> Refusal | None:
        """The reason not to check this attempt's password at all, or None."""
        # The address's budget first, as the rate limit always came before any check.
        fail_budget, check_budget = self.budgets(await self.credit(client.address))
        checks = await self._recent(self._name("checks", client.address))
        if len(checks) >= check_budget:
            return Refusal("rate", _at(checks[-check_budget] + RATE_WINDOW), check_budget)
        # A browser with the account's device cookie has a budget of its own (the base one):
        # the others' failures from its address never hold it back.
        if client.device:
            failures = await self._recent(self._name("fails", client.ref))
            budget = self.rate
        else:
            failures = await self._recent(self._name("fails", f"a:{client.address}"))
            budget = fail_budget
        if len(failures) >= budget:
            return Refusal("rate", _at(failures[-budget] + RATE_WINDOW), budget)
        until = await self.lane_wait(kind, login, client)
        if until is not None:
            return Refusal("backoff", until, self.threshold)
        return None

    async def checking(self, client: Client) -> None:
        """A password is about to be hashed for this address (rule 3)."""
        key = self._name("checks", client.address)
        await self._append(key, await self._recent(key))

    async def failed(self, kind: str, login: str, client: Client, *, checked: bool = True) -> bool:
        """An unsuccessful attempt (a wrong password or code, or one refused by its lane's
        back-off when `checked` is False). True when it counts towards the account-wide
        ceiling: a checked failure within the lane's first `threshold`."""
        keys = {f"a:{client.address}", client.ref}
        for key in (self._name("fails", ref) for ref in keys):
            await self._append(key, await self._recent(key))
        if not checked:
            return False
        lane = self._lane(kind, login, client)
        state = await self._read(lane, {})
        failures = int(state.get("failures", 0)) + 1
        until = backoff_until(failures, self.threshold, self.max_minutes)
        await self.store.set(
            lane,
            json.dumps({"failures": failures, "until": _ts(until) if until else None}),
            expires_in=int(LANE_TTL.total_seconds()),
        )
        return failures <= self.threshold

    async def succeeded(self, kind: str, login: str, client: Client) -> None:
        await self.store.delete(self._lane(kind, login, client))
        # Rule 2's credit: which account (an HMAC, never the code) got in from this address.
        key = self._name("ok", client.address)
        account = self._name("account", kind, login)[-12:]
        entries = [*await self._successes(client.address), [_ts(clock.now()), account]]
        await self.store.set(
            key, json.dumps(entries[-NAT_CREDIT_KEPT:]), expires_in=NAT_CREDIT_WINDOW * 2
        )


class DeviceCookies:
    """A browser that logged in to an account gets a signed, HttpOnly cookie naming that
    account (OWASP's "device cookie"). It grants nothing by itself; it only lets its browser
    keep a back-off lane of its own and skip the address and account-wide limits (rules 1, 2,
    4). The signature covers the account's password hash, so a password change (or reset)
    voids every device cookie of the account."""

    def __init__(self, settings) -> None:
        self._key = hmac.new(
            settings.secret_key.encode(), b"ecp-device-cookie", hashlib.sha256
        ).digest()

    @staticmethod
    def name(kind: str) -> str:
        return f"ecp_device_{kind}"

    def _sign(self, payload: str, password_hash: str) -> str:
        return hmac.new(
            self._key, f"{payload}.{password_hash}".encode(), hashlib.sha256
        ).hexdigest()

    def issue(self, kind: str, account_id: int, password_hash: str) -> str:
        payload = f"{kind}.{account_id}.{int(_ts(clock.now()))}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload, password_hash)}"

    def device(
        self, value: str | None, kind: str, account_id: int | None, password_hash: str | None
    ) -> str | None:
        """The device id when `value` is a live cookie of this very account, else None."""
        if not value or account_id is None or not password_hash or len(value) > 200:
            return None
        parts = value.split(".")
        if len(parts) != 5:
            return None
        cookie_kind, cookie_account, issued, nonce, signature = parts
        payload = ".".join(parts[:4])
        if not hmac.compare_digest(signature, self._sign(payload, password_hash)):
            return None
        if cookie_kind != kind or cookie_account != str(account_id) or not issued.isdigit():
            return None
        if clock.now() - _at(int(issued)) > DEVICE_LIFETIME:
            return None
        return nonce
