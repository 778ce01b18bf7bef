"""A PostgreSQL database as launchers hand it to their servers: where it is, whose it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from harness.errors import ProvisionError

if TYPE_CHECKING:
    from harness.scenario import Scenario


def external_database_of(
    scenario: Scenario, host: str, port: str, name: str, user: str
) -> dict[str, object]:
    """The external database a scenario names, for checks to expect: the values of its root
    variables `host`, `port`, `name` and `user` (e.g. `db_host`, `db_port`, `database_name`,
    `db_username`).
    """
    return {"host": scenario.var(host), "port": scenario.var(port),
            "name": scenario.var(name), "user": scenario.var(user)}


@dataclass(frozen=True)
class Database:
    """A database, its owner and where to reach it; the password stays in the secret store."""

    host: str
    port: int
    name: str
    user: str
    password_secret: str
    leased: bool = False  # on the server of HARNESS_EXTERNAL_POSTGRES_DSN, not this run's

    def url(self, password: str | None, driver: str = "postgresql") -> str:
        """SQLAlchemy-style URL, e.g. `postgresql+asyncpg://user:pw@host:port/name`, user and
        password percent-encoded (a password may hold `@:/#%?&+`); without a password when
        it is None (a client that takes it apart, as Feast's registry does).
        """
        login = quote(self.user, safe="")
        if password is not None:
            login += ":" + quote(password, safe="")
        return f"{driver}://{login}@{self.host}:{self.port}/{quote(self.name, safe='')}"

    def describe(self, scenario_host: str) -> dict[str, object]:
        """The database as checks see it (no password), with the host the scenario named."""
        return {"host": self.host, "port": self.port, "name": self.name, "user": self.user,
                "scenario_host": scenario_host}

    def check_login(self, component: str, password: str) -> None:
        """Log in before `component` starts, as the charts' connection checks do, so a wrong
        password ends the run at once, naming the database.

        Raises:
            ProvisionError: the database refuses the login or cannot be reached.

        """
        import psycopg  # noqa: PLC0415 - only when PostgreSQL is used

        try:
            with psycopg.connect(host=self.host, port=self.port, dbname=self.name,
                                 user=self.user, password=password, connect_timeout=10):
                pass
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            msg = (f"{component}: cannot log in to its database {self.name!r} on "
                   f"{self.host}:{self.port} as {self.user!r}: {reason}; check the database's "
                   "password, and that its user and database exist")
            raise ProvisionError(msg) from exc
