"""Page caps around a stage: what earlier runs learned goes into the client, what this run
learned goes back to the warehouse (even when the stage fails) and into the run's figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.providers.base import ProviderClient
from p88_pipeline.sync.figures import SyncFigures
from p88_pipeline.warehouse.page_caps import load_page_caps, save_page_caps


@contextmanager
def learning_caps(
    engine: sa.Engine, client: ProviderClient, partner: Partner, figures: SyncFigures
) -> Iterator[None]:
    caps = getattr(client, "caps", None)
    if caps is None:  # a client that pages without caps (none of ours)
        yield
        return
    with engine.connect() as conn:
        caps.load(load_page_caps(conn, client.provider, partner.id))
    try:
        yield
    finally:
        learned = caps.learned()
        if learned:
            with engine.begin() as conn:
                save_page_caps(conn, client.provider, partner.id, learned)
        figures.page_caps = caps.snapshot()
