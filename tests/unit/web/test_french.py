from ecp.web.french import de


def test_de_elides_before_a_vowel_or_mute_h():
    assert de("octobre 2026") == "d’octobre 2026"
    assert de("août 2026") == "d’août 2026"
    assert de("avril 2027") == "d’avril 2027"
    assert de("novembre 2026") == "de novembre 2026"
    assert de("décembre 2026") == "de décembre 2026"
    assert de("Hôte & Fils") == "d’Hôte & Fils"


def test_invoice_mail_subject_for_october_is_elided():
    import datetime as dt

    from ecp.mail.notices import render_invoice_notice
    from ecp.settings import Settings

    subject, text, html = render_invoice_notice(
        {
            "family_name": "Martin",
            "number": "FAC-2026-000001",
            "month": dt.date(2026, 10, 1),
            "total_cents": 1250,
            "due_on": dt.date(2026, 11, 15),
            "invoice_id": 1,
        },
        Settings(),
    )
    assert subject == "Votre facture d’octobre 2026 est disponible"
    assert "FAC-2026-000001 d’octobre 2026" in text and "de octobre" not in html
