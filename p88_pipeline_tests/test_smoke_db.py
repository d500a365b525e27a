import sqlalchemy as sa


def test_fresh_database_has_every_table(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    assert {"participants", "provider_events", "sync_watermarks", "sync_runs"} <= tables
