"""Which schema migrations an upgrade ran: the Alembic revision a tool's database holds (MLflow
and Prefect both keep theirs in `alembic_version`), read before and after, independently of
what the tool says about itself.
"""

from __future__ import annotations

import sqlalchemy


def schema_revision(url: str) -> str:
    """The Alembic revision in the database at SQLAlchemy `url`; "none" without one.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            if not sqlalchemy.inspect(connection).has_table("alembic_version"):
                return "none"
            rows = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
            return ",".join(sorted(str(row[0]) for row in rows)) or "none"
    finally:
        engine.dispose()
