"""`ecp send-mail`: delivers the due outbox messages once (the job runner does it periodically)."""

from __future__ import annotations

import asyncio

from ecp.web.plural import counted


def cmd_send_mail(_args) -> int:
    from ecp import db
    from ecp.mail.sender import deliver_due
    from ecp.settings import Settings

    settings = Settings.from_env()
    if not settings.smtp_host and not settings.mail_dir:
        print(
            "Aucun serveur SMTP configuré (ECP_SMTP_HOST) ni dossier de démonstration "
            "(ECP_MAIL_DIR) : les courriels restent dans la boîte d’envoi."
        )
        return 0

    async def go():
        async with db.pool(min_size=1, max_size=2):
            return await deliver_due(settings)

    sent = asyncio.run(go())
    where = "" if settings.smtp_host else f" dans {settings.mail_dir}"
    print(f"{counted(sent, 'courriel envoyé', 'courriels envoyés')}{where}.")
    return 0


def register(subparsers) -> None:
    subparsers.add_parser("send-mail", help="deliver the due outbox e-mails once").set_defaults(
        func=cmd_send_mail
    )
