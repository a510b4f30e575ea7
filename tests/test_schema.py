"""The migrations build exactly the tables that core's and the plugins' models describe."""

from core.db import database
from core.migrations import core_models
from core.plugins import hooks


def test_every_registered_model_has_its_table_and_columns_after_upgrade(app):
    models = core_models() + [model for batch in hooks(app).register_models() for model in batch]
    names = {model._meta.table_name for model in models}
    assert {"activity_event", "sign_in_attempt", "tab_grant"} <= names
    with app.app_context():
        for model in models:
            table = model._meta.table_name
            assert database.table_exists(table), f"no migration creates {table}"
            columns = {column.name for column in database.get_columns(table)}
            expected = {field.column_name for field in model._meta.sorted_fields}
            assert expected <= columns, f"{table} lacks {sorted(expected - columns)}"
