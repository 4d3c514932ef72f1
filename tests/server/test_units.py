"""In-process checks of the server's parts: config, migrations, keys, signing, URL guard."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
import sqlalchemy as sa

from tarash.tarash_gateway.cli._settings import load_settings
from tarash.tarash_gateway.models import ImageGenerationRequest
from tarash.tarash_gateway.server import auth
from tarash.tarash_gateway.server import db as dbm
from tarash.tarash_gateway.server.config import ServerConfigError, load_server_settings
from tarash.tarash_gateway.server.routes import ApiError, check_media_urls
from tarash.tarash_gateway.server.webhooks import event_types_for, new_secret, sign

CONFIG = """
[server]
port = 9001
public_providers = ["mock", "fal"]

[providers.fal]
api_key = "fal-secret"
base_url = "http://127.0.0.1:9"

[models.fast-video]
provider = "fal"
model = "fal-ai/veo3.1/fast"
operation = "video"
fallbacks = ["house", "mock/mock-video"]
defaults = { duration_seconds = 4 }

[models.house]
provider = "mock"
model = "mock-video"
fallbacks = ["fast-video"]
"""


def test_toml_aliases_fallback_chain_and_provider_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    settings = load_server_settings(str(path), db=f"sqlite:///{tmp_path / 'x.db'}", port=None)
    assert settings.port == 9001 and settings.db_url().endswith("x.db")
    chain = settings.build_configs("fast-video", "video")
    assert [(c.provider, c.model) for c in chain] == [
        ("fal", "fal-ai/veo3.1/fast"),
        ("mock", "mock-video"),
        ("mock", "mock-video"),
    ]  # the cycle back to fast-video is cut
    assert chain[0].base_url == "http://127.0.0.1:9"
    assert chain[0].api_key is not None and chain[0].api_key.get_secret_value() == "fal-secret"
    assert settings.resolve("fal/fal-ai/flux/dev") is not None  # allowed provider
    assert settings.resolve("replicate/x") is None and settings.resolve("mock/nope") is None
    # The CLI reads the same file without complaining about the server's tables.
    assert load_settings(str(path)).providers["fal"].base_url == "http://127.0.0.1:9"


def test_default_is_the_clis_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TARASH_CONFIG", raising=False)
    monkeypatch.delenv("TARASH_DB_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert load_server_settings(None).models == {}  # no file: the embedded default
    assert (
        load_server_settings(None).db_url()
        == f"sqlite:///{tmp_path / 'data' / 'tarash' / 'server.db'}"
    )
    (tmp_path / "cfg" / "tarash").mkdir(parents=True)
    (tmp_path / "cfg" / "tarash" / "config.toml").write_text(CONFIG)
    assert set(load_server_settings(None).models) == {"fast-video", "house"}


def test_bad_config_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 'x'\n")
    with pytest.raises(ServerConfigError, match="port"):
        load_server_settings(str(path))
    path.write_text("[server\n")
    with pytest.raises(ServerConfigError, match="not valid TOML"):
        load_server_settings(str(path))


def test_migrations_run_again_safely_and_concurrently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    code = (
        "import sys; from tarash.tarash_gateway.server.db import Database; "
        "d = Database(sys.argv[1]); print(d.migrate()); d.close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0].decode().strip() for p in procs]
    every = str([v for v, _, _ in dbm.MIGRATIONS])
    assert sorted(outs) == [every, "[]", "[]"]  # applied exactly once
    database = dbm.Database(url)
    try:
        assert database.migrate() == []
        rows = database.run_sync(
            lambda c: c.execute(sa.text("SELECT count(*) FROM tarash_migrations")).scalar_one()
        )
        assert rows == len(dbm.MIGRATIONS)
        assert len(database.meta("url_secret")) == 64
    finally:
        database.close()


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    database = dbm.Database(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        database.migrate()
        secret, record = database.run_sync(lambda c: auth.create_key(c, "a", ["m"], 5.0))
        stored = database.run_sync(lambda c: dbm.rows(c.execute(sa.select(dbm.keys))))
        assert stored[0]["key_hash"] == auth.hash_key(secret) and secret not in json.dumps(stored)
        found = database.run_sync(lambda c: auth.lookup_key(c, secret))
        assert found is not None and found.key_id == record["id"] and found.models == ("m",)
        assert found.may_use("m") and not found.may_use("other")
        assert database.run_sync(lambda c: auth.revoke_key(c, record["id"]))
        assert database.run_sync(lambda c: auth.lookup_key(c, secret)) is None
    finally:
        database.close()


def test_signature_verifies_with_the_openai_client() -> None:
    secret = new_secret()
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "created_at": int(time.time()),
            "type": "video.completed",
            "data": {"id": "video_1"},
        }
    )
    ts = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, "msg_1", ts, body.encode()),
    }
    client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1", webhook_secret=secret)
    client.webhooks.verify_signature(body, headers)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(body + " ", headers)


def test_event_types() -> None:
    assert event_types_for({"state": "completed", "operation": "video"}) == [
        "video.completed",
        "job.completed",
    ]
    assert event_types_for({"state": "unknown", "operation": "video"})[0] == "video.failed"
    assert event_types_for({"state": "failed", "operation": "image"}) == ["job.failed"]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/a.png",
        "http://[::1]/a.png",
        "https://192.168.1.2/x",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8080/x",
    ],
)
def test_private_and_non_http_urls_are_refused(url: str) -> None:
    request = ImageGenerationRequest(prompt="p", image_list=[{"image": url, "type": "reference"}])
    with pytest.raises(ApiError) as info:
        asyncio.run(check_media_urls(request))
    assert info.value.status == 422


def test_public_ip_and_data_uri_pass() -> None:
    request = ImageGenerationRequest(
        prompt="p",
        image_list=[
            {"image": "https://8.8.8.8/a.png", "type": "reference"},
            {"image": "data:image/png;base64,iVBORw0KGgo=", "type": "reference"},
        ],
    )
    asyncio.run(check_media_urls(request))


def test_previews_need_a_decoder_and_a_video(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tarash.tarash_gateway.providers.mock.media import make_mp4
    from tarash.tarash_gateway.server import previews

    with pytest.raises(previews.PreviewError, match="cannot decode"):
        previews.make_preview(b"not a video at all", "thumbnail")
    with pytest.raises(ValueError, match="not a preview variant"):
        previews.make_preview(b"", "video")
    clip = make_mp4(96, 64, 1.0, fps=6, seed=1)
    sheet = previews.make_preview(clip, "spritesheet")
    assert sheet[:2] == b"\xff\xd8"
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "av" else real(name, *a)
    )
    assert not previews.have_decoder()
    with pytest.raises(previews.PreviewError, match=r"tarash-gateway\[previews\]"):
        previews.make_preview(clip, "thumbnail")
