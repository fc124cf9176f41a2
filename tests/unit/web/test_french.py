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


def test_elision_of_names_and_articles():
    from ecp.web.french import de, elide

    assert de("Inès") == "d’Inès"
    assert de("Élodie Martin") == "d’Élodie Martin"
    assert de("Léa") == "de Léa"
    assert elide("inscription", "la") == "l’inscription"
    assert elide("école", "le") == "l’école"
    assert elide("facture", "la") == "la facture"
    assert elide("Awa", "que") == "qu’Awa"
    assert elide("", "de") == "de"


def test_agreement_of_participles():
    from ecp.web.french import accord

    assert accord("refusée", 1) == "refusée"
    assert accord("refusée", 2) == "refusées"
    assert accord("refusé", 2, feminine=True) == "refusées"
    assert accord("réservé", 1, feminine=True) == "réservée"
    assert accord("réservé", 0) == "réservé"
    assert accord("en attente", 5, feminine=True) == "en attente"
    assert accord("heureux", 3) == "heureux"


def test_counts_and_the_article_of_one():
    from ecp.web.french import counted, les

    assert counted(1, "inscription refusée", "inscriptions refusées") == "1 inscription refusée"
    assert counted(2, "inscription refusée", "inscriptions refusées") == "2 inscriptions refusées"
    assert counted(0, "famille") == "0 famille"
    assert les(1, "facture", feminine=True) == "la facture"
    assert les(1, "avoir") == "l’avoir"
    assert les(1, "relevé") == "le relevé"
    assert les(3, "facture", feminine=True) == "les 3 factures"


def test_the_filters_in_templates():
    from ecp.web.templating import environment

    env = environment()
    render = lambda source, **ctx: env.from_string(source).render(**ctx)  # noqa: E731
    assert render("l’inscription {{ name | de }}", name="Inès") == "l’inscription d’Inès"
    assert render("Inscriptions {{ 'refusée' | accord(2, feminine=True) }}") == (
        "Inscriptions refusées"
    )
    assert render("{{ n | counted('famille trouvée', 'familles trouvées') }}", n=1) == (
        "1 famille trouvée"
    )
    assert render("Télécharger {{ n | les('facture', feminine=True) }}", n=1) == (
        "Télécharger la facture"
    )
    assert render("{{ d | date_long }}", d=__import__("datetime").date(2026, 12, 1)) == (
        "1er décembre 2026"
    )
