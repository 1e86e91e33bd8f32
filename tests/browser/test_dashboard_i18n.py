"""The dashboard speaks French to a browser that asks for it."""

from plone import api

import transaction


def test_dashboard_in_french(browser, functional_portal):
    api.portal.set_registry_record("plone.available_languages", ["en", "fr"])
    api.portal.set_registry_record("plone.use_request_negotiation", True)
    transaction.commit()
    browser.addHeader("Accept-Language", "fr")
    browser.open(f"{functional_portal.absolute_url()}/@@cron-settings")
    assert "Tableau de bord des tâches planifiées" in browser.contents
    assert "Ajouter une tâche" in browser.contents
    assert (
        "Les tâches ne s'exécuteront pas : aucun worker ne tourne." in browser.contents
    )
    assert "<code>worker on</code>" in browser.contents
