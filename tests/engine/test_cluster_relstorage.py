"""Several worker processes on one RelStorage database: each run happens once.

The cluster checks of test_cluster_zeo.py, on RelStorage: a throwaway
PostgreSQL server and three Zope worker instances on 127.0.0.1 free ports.
On RelStorage the cluster lock is still the ZODB's conflict detection, but the
commit path (row locks in PostgreSQL, invalidations by polling) is another
implementation than ZEO's, so it is tested of its own.
"""

from tests.engine import test_cluster_zeo as on_zeo
from tests.support.instances import relstorage_cluster
from tests.support.postgres import postgresql_or_skip

import pytest


pytestmark = pytest.mark.slow

# The same tests, collected here too, where `cluster` is this module's fixture.
test_every_scheduled_run_happens_exactly_once = (
    on_zeo.test_every_scheduled_run_happens_exactly_once
)
test_killed_worker_loses_no_job = on_zeo.test_killed_worker_loses_no_job


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """What the imported tests run against: three workers on RelStorage."""
    postgresql_or_skip()
    directory = tmp_path_factory.mktemp("relstorage-cluster")
    with relstorage_cluster(directory, on_zeo.WORKER_SETTINGS) as workers:
        # The site really lives in PostgreSQL, not in a file beside a worker.
        assert stored_objects(workers[0].relstorage) > 100
        assert not list(directory.glob("**/*.fs"))
        yield workers


def stored_objects(dsn):
    import psycopg2

    connection = psycopg2.connect(dsn, connect_timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM object_state")
            return cursor.fetchone()[0]
    finally:
        connection.close()
