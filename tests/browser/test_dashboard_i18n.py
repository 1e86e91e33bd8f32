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


def test_form_errors_in_french(browser, functional_portal):
    api.portal.set_registry_record("plone.available_languages", ["en", "fr"])
    api.portal.set_registry_record("plone.use_request_negotiation", True)
    transaction.commit()
    browser.addHeader("Accept-Language", "fr")
    browser.open(f"{functional_portal.absolute_url()}/@@cron-add")
    browser.getControl(name="form.widgets.name").value = "../x"
    browser.getControl(name="form.widgets.periodicity").value = "*/90 * * * *"
    browser.getControl(name="form.buttons.add").click()
    text = browser.contents.replace("&#x27;", "'")
    assert (
        "periodicity '*/90 * * * *' refusé : le pas 90 du champ minute dépasse "
        "les 60 valeurs de ce champ" in text
    )
    assert "name '../x' refusé : contient le segment '..'" in text
    browser.getControl(name="form.widgets.name").value = "mycronjob"
    browser.getControl(name="form.widgets.periodicity").value = "@daily"
    browser.getControl(name="form.widgets.user").value = "ghost"
    browser.getControl(name="form.buttons.add").click()
    text = browser.contents.replace("&#x27;", "'")
    assert "user 'ghost' refusé : aucun utilisateur n'a cet identifiant" in text
