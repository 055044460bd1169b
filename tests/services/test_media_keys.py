"""The evidence master key: generated for the demo, printed by `feijian keys`, checked when read."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from media.encrypted import EncryptedBlobStore
from services import evidence
from services.config import Settings, SettingsError, ensure_demo_keys, new_key


def test_demo_keys_include_the_media_key(tmp_path: Path) -> None:
    keys = ensure_demo_keys(tmp_path)
    assert keys["FEIJIAN_MEDIA_KEY"] and keys["FEIJIAN_MEDIA_KEY"] != keys["FEIJIAN_PII_KEY"]
    assert ensure_demo_keys(tmp_path) == keys  # kept on the next start
    assert "FEIJIAN_MEDIA_KEY=" in (tmp_path / "keys.env").read_text()


def test_keys_command_prints_a_media_key() -> None:
    out = CliRunner().invoke(app, ["keys"])
    assert out.exit_code == 0 and "FEIJIAN_MEDIA_KEY=" in out.output


def test_media_key_setting_turns_encryption_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEIJIAN_MEDIA_KEY", raising=False)  # another test's demo may have set it
    plain = Settings(env="test", media_dir=tmp_path / "m")
    assert plain.media_key_bytes() is None and not isinstance(evidence.blob_store(plain), EncryptedBlobStore)
    old = new_key()
    keyed = Settings(env="test", media_dir=tmp_path / "m", media_key=new_key(), media_old_keys=old)
    store = evidence.blob_store(keyed)
    assert isinstance(store, EncryptedBlobStore) and store.namespaces == ("original",)
    assert len(store.keyring.old) == 1
    both = Settings(env="test", media_dir=tmp_path / "m", media_key=new_key(), media_encrypt_derived=True)
    assert evidence.blob_store(both).namespaces == ("original", "derived")  # type: ignore[attr-defined]
    with pytest.raises(SettingsError, match="FEIJIAN_MEDIA_KEY"):
        Settings(env="test", media_key="short").media_key_bytes()


def test_serving_refuses_a_bad_or_reused_media_key() -> None:
    secret, pii = new_key(), new_key()
    Settings(env="test", secret_key=secret, pii_key=pii, media_key=new_key()).validate_for_serving()
    Settings(env="test", secret_key=secret, pii_key=pii).validate_for_serving()
    for bad in ("not-a-key", pii):
        with pytest.raises(SettingsError, match="FEIJIAN_MEDIA_KEY"):
            Settings(env="test", secret_key=secret, pii_key=pii, media_key=bad).validate_for_serving()
    with pytest.raises(SettingsError, match="FEIJIAN_MEDIA_OLD_KEYS"):
        Settings(env="test", secret_key=secret, pii_key=pii, media_old_keys="x").validate_for_serving()
