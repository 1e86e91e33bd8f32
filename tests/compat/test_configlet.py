"""The Cron Dashboard configlet has collective.cron 2.x's id, CCronSettings:
add-ons' profiles and migrated sites find it, and no site ends up with two."""

DASHBOARD = "string:${portal_url}/@@cron-settings"


def dashboards(portal):
    return [
        (action.getId(), action.permissions)
        for action in portal.portal_controlpanel.listActions()
        if action.getActionExpression() == DASHBOARD
    ]


def replace_configlet(portal, action_id, permission):
    tool = portal.portal_controlpanel
    for old in ("CCronSettings", "CronDashboard"):
        tool.unregisterConfiglet(old)
    tool.registerConfiglet(
        id=action_id,
        name="Cron Dashboard",
        action=DASHBOARD,
        permission=permission,
        category="Products",
        appId=action_id,
    )


def test_configlet_has_the_2x_id(portal):
    configlet = portal.portal_controlpanel.getActionObject("Products/CCronSettings")
    assert configlet is not None
    assert dashboards(portal) == [("CCronSettings", ("collective.cron: Manage crons",))]


def test_a_2x_site_keeps_one_configlet_on_install(portal, setup_tool):
    # What 2.x left in portal_controlpanel, guarded by its own permission.
    replace_configlet(portal, "CCronSettings", "ccron: View")
    setup_tool.runImportStepFromProfile(
        "profile-collective.cron:default", "controlpanel"
    )
    assert dashboards(portal) == [("CCronSettings", ("collective.cron: Manage crons",))]


def test_upgrade_to_1004_renames_the_prerelease_configlet(portal, setup_tool):
    replace_configlet(portal, "CronDashboard", "collective.cron: Manage crons")
    setup_tool.setLastVersionForProfile("collective.cron:default", "1003")
    setup_tool.upgradeProfile("collective.cron:default")
    assert setup_tool.getLastVersionForProfile("collective.cron:default") == ("1006",)
    assert dashboards(portal) == [("CCronSettings", ("collective.cron: Manage crons",))]
