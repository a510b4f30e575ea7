"""The migrations build exactly the tables the plugins' models describe."""

from core.db import database
from core.plugins import hooks


def test_every_registered_model_has_its_table_and_columns_after_upgrade(app):
    models = [model for batch in hooks(app).register_models() for model in batch]
    assert {"activity_event", "tab_grant"} <= {model._meta.table_name for model in models}
    with app.app_context():
        for model in models:
            table = model._meta.table_name
            assert database.table_exists(table), f"no migration creates {table}"
            columns = {column.name for column in database.get_columns(table)}
            expected = {field.column_name for field in model._meta.sorted_fields}
            assert expected <= columns, f"{table} lacks {sorted(expected - columns)}"
