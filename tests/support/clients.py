"""Two Zope threads in one test: each its own connection and transaction
manager on the layer's database, so their commits can really conflict."""

from zope.component.hooks import setSite

import transaction


class Client:
    """One Zope thread: its own connection, transaction manager and site."""

    def __init__(self, db):
        self.tm = transaction.TransactionManager()
        self.connection = db.open(transaction_manager=self.tm)
        self.tm.begin()
        self.portal = self.connection.root()["Application"]["plone"]

    def __enter__(self):
        setSite(self.portal)
        return self

    def __exit__(self, *exc):
        setSite(None)

    def close(self):
        self.tm.abort()
        self.connection.close()
