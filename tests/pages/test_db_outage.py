"""The database unreachable between two runs of a page: a clear banner, the last good numbers,
and recovery by itself on the next run once the database answers again."""
import re
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from cockpit.db.engine import dispose_engines, get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history
from cockpit.ui import loaders
from tests.pages.test_pages import TZ, app_for, metrics_by_label
from tests.support.figures import record
from tests.support.proxy import TcpProxy


class AppOutage:
    """PostgreSQL: the app reaches the server through a proxy that is cut. SQLite: the file
    is moved away (the app then finds an empty database where its file was)."""

    def __init__(self, backend: str, db_url: str):
        self.backend, self.db_url = backend, db_url
        self.proxy = TcpProxy() if backend == "postgresql" else None
        self.path = None if self.proxy else Path(make_url(db_url).database)

    @property
    def app_url(self) -> str:
        if self.proxy is None:
            return self.db_url
        return self.db_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{self.proxy.port}/")

    def _files(self):
        return [Path(f"{self.path}{suffix}") for suffix in ("", "-wal", "-shm")]

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
            return
        dispose_engines()
        for file in self._files():
            if file.exists():
                file.rename(f"{file}.away")

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
            return
        dispose_engines()
        for file in self._files():
            away = Path(f"{file}.away")
            if away.exists():
                file.unlink(missing_ok=True)  # the empty database the app made meanwhile
                away.rename(file)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_the_overview_keeps_its_numbers_under_a_banner_while_the_database_is_unreachable(
        backend, fresh_db_url, monkeypatch):
    db_url = fresh_db_url(backend)
    upgrade_schema(db_url)
    seed_history(get_engine(db_url), days=1, scenario="normal", seed=21, now_minute=int(time.time()) // 60 - 1, tz=TZ,
                 progress=False)
    outage = AppOutage(backend, db_url)
    try:
        at = app_for(outage.app_url, monkeypatch)  # signed in, on the overview
        before = metrics_by_label(at)
        assert before and not any("unreachable" in e for e in errors(at))

        outage.cut()
        cut_at = time.time()
        loaders.heartbeat.clear()  # instead of waiting out its 5-second cache
        at.run()
        assert not at.exception, at.exception
        banner = [e for e in errors(at) if "Database unreachable since" in e]
        assert banner and re.search(r"since \d\d:\d\d — showing the numbers from \d\d:\d\d; retrying", banner[0]), errors(at)
        assert metrics_by_label(at) == before  # the last good numbers stay on screen

        outage.restore()
        restored_at = time.time()
        loaders.heartbeat.clear()
        at.run()
        recovered_s = time.time() - restored_at
        assert not at.exception, at.exception
        assert not any("unreachable" in e for e in errors(at)), errors(at)
        assert metrics_by_label(at) == before
        assert any("Data as of" in c.value for c in at.caption)
    finally:
        outage.close()
        if outage.proxy is None:
            outage.restore()
    record(f"app_outage[{backend}]", outage_s=round(restored_at - cut_at, 1), recovered_on_next_run_s=round(recovered_s, 2),
           banner=banner[0])
