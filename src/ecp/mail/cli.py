"""`ecp send-mail`: delivers the due outbox messages once (the job runner does it periodically)."""

from __future__ import annotations

import asyncio

from ecp.web.plural import counted


def cmd_send_mail(_args) -> int:
    from ecp import db
    from ecp.mail.sender import deliver_due
    from ecp.settings import Settings

    settings = Settings.from_env()
    if not settings.smtp_host:
        print("Aucun serveur SMTP configuré (ECP_SMTP_HOST) : les courriels restent dans la "
              "boîte d’envoi, lisible par les agents sur /agents/courriels.")
        return 0

    async def go():
        async with db.pool(min_size=1, max_size=2):
            return await deliver_due(settings)

    sent = asyncio.run(go())
    print(f"{counted(sent, 'courriel envoyé', 'courriels envoyés')}.")
    return 0


def register(subparsers) -> None:
    subparsers.add_parser("send-mail", help="deliver the due outbox e-mails once").set_defaults(
        func=cmd_send_mail)
