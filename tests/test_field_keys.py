"""Where the field keys come from: the environment (never a file then), else a key file
generated once on a fresh machine (mode 0600) and read again on every later start."""

from __future__ import annotations

import logging
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from auth.crypto import CryptoError
from auth.keys import load_or_create
from settings import Settings

V1, V2 = "1:" + "0f" * 16, "2:" + "1e" * 16
INDEX = "2d" * 32


def settings(data_dir: Path, *, field_keys: str | None = None, blind_index_key: str | None = None,
             field_key_current: int | None = None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data_dir, field_key_current=field_key_current,
        field_keys=None if field_keys is None else SecretStr(field_keys),
        blind_index_key=None if blind_index_key is None else SecretStr(blind_index_key))


def test_a_fresh_machine_gets_keys_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ring, index_key = load_or_create(settings(data_dir))
    key_file = data_dir / "keys.env"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_text()
    assert (ring.versions, ring.current, len(index_key)) == ((1,), 1, 32)
    assert f"BLIND_INDEX_KEY={index_key.hex()}\n" in written
    assert f"FIELD_KEYS=1:{ring.key(1).hex()}\n" in written

    again, same_index = load_or_create(settings(data_dir))
    assert (again.key(1), same_index) == (ring.key(1), index_key)
    assert key_file.read_text() == written
    assert sorted(path.name for path in data_dir.iterdir()) == ["keys.env"]


def test_starts_racing_on_a_fresh_machine_share_one_key_file(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: load_or_create(settings(tmp_path)), range(8)))
    assert len({(ring.key(1), index_key) for ring, index_key in results}) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.env"]


def test_keys_from_the_environment_never_touch_the_disk(tmp_path: Path) -> None:
    ring, index_key = load_or_create(settings(
        tmp_path / "data", field_keys=f"{V1},{V2}", blind_index_key=INDEX))
    assert (ring.versions, ring.current, index_key) == ((1, 2), 2, bytes.fromhex(INDEX))
    assert not (tmp_path / "data").exists()
    staged = load_or_create(settings(tmp_path, field_keys=f"{V1},{V2}", field_key_current=1,
                                     blind_index_key=INDEX))[0]
    assert staged.current == 1


def test_an_edited_key_file_adds_a_version(tmp_path: Path) -> None:
    ring, index_key = load_or_create(settings(tmp_path))
    key_file = tmp_path / "keys.env"
    first = f"1:{ring.key(1).hex()}"
    key_file.write_text(f"# rotated\nFIELD_KEYS='{first},{V2}'\nBLIND_INDEX_KEY={index_key.hex()}"
                        "\nFIELD_KEY_CURRENT=1\n")
    staged, same_index = load_or_create(settings(tmp_path))
    assert (staged.versions, staged.current, same_index) == ((1, 2), 1, index_key)
    # The environment overrides the file, value by value.
    assert load_or_create(settings(tmp_path, field_key_current=2))[0].current == 2
    assert load_or_create(settings(tmp_path, field_keys=V2))[0].versions == (2,)


def test_half_the_keys_in_the_environment_and_no_file_is_refused(tmp_path: Path) -> None:
    for half in (settings(tmp_path, field_keys=V1), settings(tmp_path, blind_index_key=INDEX)):
        with pytest.raises(CryptoError, match="must be set together"):
            load_or_create(half)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("values", "message"), [
    ({"field_keys": V1, "blind_index_key": "2d" * 15}, "at least 32 hex"),
    ({"field_keys": V1, "blind_index_key": "zz" * 32}, "at least 32 hex"),
    ({"field_keys": V1, "blind_index_key": "0f" * 16}, "must not be one of the SM4"),
    ({"field_keys": "1:abc", "blind_index_key": INDEX}, "32 hex chars"),
    ({"field_keys": V1, "field_key_current": 2, "blind_index_key": INDEX}, "not in the key"),
])
def test_unusable_keys_are_refused(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    with pytest.raises(CryptoError, match=message) as raised:
        load_or_create(settings(tmp_path, **values))
    assert "0f0f" not in str(raised.value) and "2d2d" not in str(raised.value)


def test_a_key_file_others_can_read_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_or_create(settings(tmp_path))
    (tmp_path / "keys.env").chmod(0o644)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crm.keys"):
        load_or_create(settings(tmp_path))
    assert [record.getMessage() for record in caplog.records] == [
        f"key file {tmp_path / 'keys.env'} is readable by other users; chmod 600 it"]


def test_settings_never_print_the_keys(tmp_path: Path) -> None:
    configured = settings(tmp_path, field_keys=V1, blind_index_key=INDEX)
    assert "0f0f" not in repr(configured) and "2d2d" not in repr(configured)
    assert "0f0f" not in repr(load_or_create(configured)[0])


def test_a_data_dir_that_cannot_hold_the_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CryptoError, match=r"cannot create the key file .* set FIELD_KEYS"):
        load_or_create(settings(tmp_path / "file" / "data"))
