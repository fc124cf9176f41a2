"""TOTP pieces without a database: RFC 6238 codes, the ±1 step window, no replay, the QR code,
and the encryption of secrets at rest."""

from __future__ import annotations

import datetime as dt

import pyotp

from ecp.auth import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = dt.datetime(2026, 11, 30, 8, 0, 10, tzinfo=dt.UTC)


def test_codes_are_those_of_any_authenticator_app():
    assert totp.code_at(SECRET, totp.step_at(AT)) == pyotp.TOTP(SECRET).at(AT)
    # RFC 6238 appendix B, SHA-1, T = 59 s, 8 digits 94287082: the last 6 digits.
    rfc = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp.code_at(rfc, 59 // 30) == "287082"


def test_one_step_either_side_is_accepted_and_no_further():
    now = totp.step_at(AT)
    for offset in (-1, 0, 1):
        assert totp.matching_step(SECRET, totp.code_at(SECRET, now + offset), AT) == now + offset
    for offset in (-2, 2):
        assert totp.matching_step(SECRET, totp.code_at(SECRET, now + offset), AT) is None


def test_a_code_at_or_before_the_last_accepted_step_is_refused():
    now = totp.step_at(AT)
    code = totp.code_at(SECRET, now)
    assert totp.matching_step(SECRET, code, AT, last_step=now) is None
    assert totp.matching_step(SECRET, code, AT, last_step=now - 1) == now
    assert totp.matching_step(SECRET, totp.code_at(SECRET, now - 1), AT, last_step=now) is None


def test_malformed_codes_match_nothing_and_typing_is_forgiven():
    assert totp.matching_step(SECRET, "12345", AT) is None
    assert totp.matching_step(SECRET, "abcdef", AT) is None
    assert totp.clean_code(" 123 456 ") == "123456" and totp.clean_code("123-456") == "123456"


def test_secrets_have_160_bits_and_are_grouped_by_four():
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.grouped("ABCDEFGHIJKL") == "ABCD EFGH IJKL"
    assert totp.new_secret() != secret


def test_provisioning_uri_and_qr_code_svg():
    uri = totp.provisioning_uri(SECRET, "agent", "Portail Famille Villebelle-sur-Seine")
    assert uri == (
        "otpauth://totp/Portail%20Famille%20Villebelle-sur-Seine:agent?secret="
        f"{SECRET}&issuer=Portail%20Famille%20Villebelle-sur-Seine"
    )
    svg = totp.qr_svg(uri, "Code QR")
    assert svg.startswith('<svg role="img" focusable="false" ')
    assert "<title>Code QR</title>" in svg
    assert "style" not in svg and "script" not in svg and "<?xml" not in svg


def test_secrets_are_encrypted_bound_to_their_account_and_key():
    box = totp.SecretBox("a-secret-key-long-enough-for-the-tests-0123")
    sealed = box.seal(SECRET, "totp", 7)
    assert SECRET not in sealed and sealed != box.seal(SECRET, "totp", 7)  # random nonce
    assert box.open(sealed, "totp", 7) == SECRET
    assert box.open(sealed, "totp", 8) is None
    assert box.open(sealed, "pending", 7) is None
    assert (
        totp.SecretBox("another-key-long-enough-for-the-tests-456").open(sealed, "totp", 7) is None
    )
    assert box.open(sealed[:-2], "totp", 7) is None and box.open("", "totp", 7) is None


def test_a_candidate_key_expires_and_belongs_to_one_account():
    box = totp.SecretBox("a-secret-key-long-enough-for-the-tests-0123")
    token = box.seal_candidate(SECRET, 7, AT + dt.timedelta(minutes=15))
    assert box.open_candidate(token, 7, AT) == SECRET
    assert box.open_candidate(token, 8, AT) is None
    assert box.open_candidate(token, 7, AT + dt.timedelta(minutes=16)) is None
    assert box.open_candidate("bogus", 7, AT) is None
