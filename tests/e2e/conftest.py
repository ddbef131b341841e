"""The world most end-to-end tests start from: a seeded sandbox, its config, and a client per side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from b24sync.config import Config, load_config
from b24sync.sandbox.run import start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.onec.client import OneCClient


@contextmanager
def sandbox_world(folder: Path, *, seed: int, size: int = 60,
                  **options: Any) -> Iterator[tuple[Any, Path, Config, Bitrix24Client, OneCClient]]:
    """``(sandbox, config path, config, Bitrix24 client, 1C client)`` on a sandbox without rate limits
    (``options`` go to :func:`start_sandbox`); the config is written into ``folder``."""
    with start_sandbox(size=size, seed=seed, limits=False, **options) as sandbox:
        cfg_path = sandbox.write_config(folder / "b24sync.toml")
        config = load_config(cfg_path)
        b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
        onec = OneCClient(sandbox.onec.odata_url, sandbox.onec.user, sandbox.onec.password,
                          server_tz=config.onec.tzinfo())
        yield sandbox, cfg_path, config, b24, onec
