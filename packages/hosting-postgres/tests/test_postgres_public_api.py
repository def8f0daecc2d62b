"""The public API of hosting.postgres: `__all__` complete, sorted and importable."""

from __future__ import annotations

import hosting.postgres as postgres
from hosting.core.stores import Store


def test_all_is_sorted_and_importable() -> None:
    assert postgres.__all__ == sorted(postgres.__all__)
    for name in postgres.__all__:
        assert getattr(postgres, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(postgres) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError"}
    assert public <= set(postgres.__all__), public - set(postgres.__all__)


def test_the_store_is_a_store_and_names_its_database_without_the_password() -> None:
    store = postgres.PostgresStore("postgresql://app:s3cret@db/app", schema="tenant_a")
    assert isinstance(store, Store)
    assert repr(store) == "PostgresStore('postgresql://app:***@db/app', schema='tenant_a')"
    assert postgres.DATABASE_URL_ENV == "HOSTING_DATABASE_URL"
