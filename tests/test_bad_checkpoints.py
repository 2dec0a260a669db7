"""Hostile checkpoints: every command that reads one refuses it in one line, runs nothing, stays small.

Files are crafted here: broken zip containers, resource bombs, metadata of every wrong type, an env
id that would import a module, weights that do not fit the env, and random byte mutations.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from ac_play import cli

COMMANDS = {
    "eval": lambda path: ["eval", str(path), "--episodes", "1"],
    "watch": lambda path: ["watch", str(path), "--frames", "1"],
    "human": lambda path: ["human", "--agent", str(path)],
    "resume": lambda path: ["train", "--headless", "--resume", str(path), "--episodes", "1", "--out", f"{path}.run"],
}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A real checkpoint of a small agent, trained for two episodes."""
    folder = tmp_path_factory.mktemp("good")
    result = run_cli("train", "--headless", "--episodes", "2", "--hidden", "8", "--out", folder / "run")
    assert result.returncode == 0, result.stderr
    return folder / "run" / "final.npz"


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def meta_of(path: Path) -> dict:
    return json.loads(str(arrays_of(path)["meta"]))


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_npz(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return path


def renamed_env(meta: dict, env_id: str) -> None:
    meta["env_id"] = meta["config"]["env_id"] = env_id


def with_meta(good: Path, path: Path, change) -> Path:
    """`good` with its metadata edited by `change(meta)` (which may also return a raw JSON text)."""
    arrays = arrays_of(good)
    meta = meta_of(good)
    text = change(meta)
    arrays["meta"] = np.array(text if isinstance(text, str) else json.dumps(meta))
    return write_npz(path, {name: npy_bytes(array) for name, array in arrays.items()})


def refuse(argv: list[str], capsys) -> str:
    """Run the CLI in this process: it must return 2 with one line on stderr, and raise nothing."""
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ac-play: error: "), err
    return lines[0]


# no code runs because of a file


@pytest.mark.parametrize("command", COMMANDS)
def test_an_env_id_naming_a_module_imports_nothing(good, tmp_path, monkeypatch, capsys, command):
    (tmp_path / "evilmod.py").write_text(f"open({str(tmp_path / 'RAN')!r}, 'w').write('ran')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for env_id in ("evilmod:CartPole-v1", "this:CartPole-v1"):
        path = with_meta(good, tmp_path / "evil.npz", lambda meta, env_id=env_id: renamed_env(meta, env_id))
        line = refuse(COMMANDS[command](path), capsys)
        assert "is not registered with gymnasium" in line
    assert not (tmp_path / "RAN").exists() and "evilmod" not in sys.modules and "this" not in sys.modules


def test_the_zen_of_python_is_not_printed_from_a_subprocess(good, tmp_path):
    path = with_meta(good, tmp_path / "zen.npz", lambda meta: renamed_env(meta, "this:CartPole-v1"))
    result = run_cli("eval", path)
    assert result.returncode == 2 and "Beautiful is better" not in result.stdout + result.stderr


# broken containers


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


def headers(data: bytes) -> tuple[list[int], list[int]]:
    """Offsets of every local file header and central directory entry."""
    local = [i for i in range(len(data) - 4) if data[i:i + 4] == b"PK\x03\x04"]
    central = [i for i in range(len(data) - 4) if data[i:i + 4] == b"PK\x01\x02"]
    return local, central


def container_cases(good: Path) -> dict[str, bytes]:
    data = good.read_bytes()
    local, central = headers(data)
    encrypted = data
    for offset in local:
        encrypted = patched(encrypted, offset + 6, struct.pack("<H", 1))
    for offset in central:
        encrypted = patched(encrypted, offset + 8, struct.pack("<H", 1))
    method = data
    for offset in central:
        method = patched(method, offset + 10, struct.pack("<H", 99))
    for offset in local:
        method = patched(method, offset + 8, struct.pack("<H", 99))
    bad_crc = patched(data, central[1] + 16, b"\x00\x00\x00\x00")
    compressed = io.BytesIO()
    np.savez_compressed(compressed, **arrays_of(good))
    deflated = bytearray(compressed.getvalue())
    start = headers(bytes(deflated))[0][1] + 60
    deflated[start:start + 40] = bytes(40)
    return {"encrypted": encrypted, "method 99": method, "bad CRC": bad_crc, "corrupt deflate": bytes(deflated)}


@pytest.mark.parametrize("case", ["encrypted", "method 99", "bad CRC", "corrupt deflate"])
@pytest.mark.parametrize("command", COMMANDS)
def test_broken_containers_are_refused(good, tmp_path, capsys, case, command):
    path = tmp_path / "broken.npz"
    path.write_bytes(container_cases(good)[case])
    refuse(COMMANDS[command](path), capsys)


def test_truncation_anywhere_is_refused(good, tmp_path, capsys):
    data = good.read_bytes()
    path = tmp_path / "cut.npz"
    for cut in sorted({1, 3, 4, 30, 100, *range(0, len(data), max(1, len(data) // 60)), len(data) - 1}):
        path.write_bytes(data[:cut])
        refuse(COMMANDS["eval"](path), capsys)


# resource bombs


def bomb_members(good: Path) -> dict[str, bytes]:
    return {name: npy_bytes(array) for name, array in arrays_of(good).items()}


def write_inflating_bomb(good: Path, path: Path, gigabytes: float) -> Path:
    """param/W1 has a true header, then `gigabytes` of zeros that deflate to almost nothing."""
    members = bomb_members(good)
    header = members["param/W1"][: members["param/W1"].index(b"\n") + 1]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if name != "param/W1":
                archive.writestr(name + ".npy", data)
        info = zipfile.ZipInfo("param/W1.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(1 << 24)
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(header)
            for _ in range(int(gigabytes * 64)):
                member.write(chunk)
    return path


def test_a_member_that_inflates_to_a_gigabyte_is_refused_at_once(good, tmp_path, capsys):
    path = write_inflating_bomb(good, tmp_path / "bomb.npz", 1.0)
    started = time.perf_counter()
    line = refuse(COMMANDS["eval"](path), capsys)
    assert time.perf_counter() - started < 1.0
    assert "'param/W1' holds more data than the 256 bytes its header declares" in line  # 4 x 8 float64


def test_a_header_declaring_a_trillion_elements_is_refused_before_reading(good, tmp_path, capsys):
    members = bomb_members(good)
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    text = repr(header).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    members["param/W1"] = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(64)
    line = refuse(COMMANDS["eval"](write_npz(tmp_path / "trillion.npz", members)), capsys)
    assert "shape (1000000000000,)" in line


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_metadata_is_refused(good, tmp_path, capsys, depth):
    path = with_meta(good, tmp_path / "deep.npz", lambda meta: "[" * depth + "]" * depth)
    refuse(COMMANDS["eval"](path), capsys)
    nested = with_meta(good, tmp_path / "deep2.npz", lambda meta: json.dumps(meta)[:-1] + ', "x": ' + "[" * depth
                       + "]" * depth + "}")
    refuse(COMMANDS["eval"](nested), capsys)


def test_huge_metadata_is_refused_by_its_declared_size(good, tmp_path, capsys):
    path = with_meta(good, tmp_path / "huge.npz", lambda meta: json.dumps({**meta, "pad": "x" * 2_000_000}))
    assert "at most" in refuse(COMMANDS["eval"](path), capsys)


def test_refusing_the_largest_bomb_takes_under_a_second_and_100_mb(good, tmp_path):
    path = write_inflating_bomb(good, tmp_path / "bomb.npz", 2.0)
    assert path.stat().st_size < 5_000_000
    code = (
        "import resource, sys, time\n"
        "from ac_play import cli\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "started = time.perf_counter()\n"
        f"code = cli.main(['eval', {str(path)!r}])\n"
        "print(code, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    result = __import__("subprocess").run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    code, seconds, grown_kb = result.stdout.split()
    assert code == "2" and float(seconds) < 1.0 and int(grown_kb) < 100 * 1024, result.stdout


# metadata of the wrong type anywhere


META_CASES = {
    "obs_dim as text": lambda m: m.update(obs_dim="4"),
    "obs_dim as true": lambda m: m.update(obs_dim=True),
    "hidden zero": lambda m: m.update(hidden=0),
    "hidden a billion": lambda m: m.update(hidden=10**9),
    "env id a number": lambda m: m.update(env_id=5),
    "unknown env": lambda m: renamed_env(m, "NoSuchEnv-v9"),
    "format 2": lambda m: m.update(format_version=2),
    "format as text": lambda m: m.update(format_version="1"),
    "config a list": lambda m: m.update(config=[1, 2]),
    "gamma as text": lambda m: m["config"].update(gamma="high"),
    "gamma NaN": lambda m: m["config"].update(gamma=float("nan")),
    "lr negative": lambda m: m["config"].update(lr=-1.0),
    "seed fractional": lambda m: m["config"].update(seed=1.5),
    "optimizer unknown": lambda m: m["config"].update(optimizer="rmsprop"),
    "config for another env": lambda m: m["config"].update(env_id="Acrobot-v1"),
    "progress negative": lambda m: m["progress"].update(episode=-1),
    "progress as text": lambda m: m["progress"].update(env_steps="many"),
    "progress null": lambda m: m.update(progress=None),
    "normaliser negative std": lambda m: m["normaliser"].update(std=-1.0),
    "normaliser infinite mean": lambda m: m["normaliser"].update(mean=float("inf")),
    "normaliser not an object": lambda m: m.update(normaliser="x"),
    "a list at the top": lambda m: "[1, 2, 3]",
}


@pytest.mark.parametrize("case", META_CASES)
def test_metadata_of_the_wrong_type_is_refused_by_every_command(good, tmp_path, capsys, case):
    path = with_meta(good, tmp_path / "meta.npz", META_CASES[case])
    for command in COMMANDS:
        refuse(COMMANDS[command](path), capsys)


@pytest.mark.parametrize(
    "change",
    [
        lambda arrays: arrays.update({"optim/t": np.array([-3])}),
        lambda arrays: arrays.update({"optim/m/W1": np.zeros((2, 2))}),
        lambda arrays: arrays.pop("optim/v/Wa"),
        lambda arrays: arrays.update({"optim/t": np.array([1.5])}),
        lambda arrays: arrays.update({"param/W1": arrays["param/W1"].astype(">f8").reshape(-1)}),
    ],
    ids=["negative step", "moment shape", "moment missing", "float step", "flattened weights"],
)
def test_optimiser_state_and_weights_of_the_wrong_shape_are_refused(good, tmp_path, capsys, change):
    arrays = arrays_of(good)
    change(arrays)
    path = write_npz(tmp_path / "state.npz", {name: npy_bytes(array) for name, array in arrays.items()})
    refuse(COMMANDS["resume"](path), capsys)


def test_weights_that_do_not_fit_the_env_are_refused_when_loaded(tmp_path, capsys):
    from ac_play import checkpoint
    from ac_play.agent import ActorCritic

    agent = ActorCritic.create(obs_dim=6, n_actions=3, hidden=8)
    path = checkpoint.save(tmp_path / "wrong.npz", agent, {"env_id": "CartPole-v1"})
    for command in COMMANDS:
        line = refuse(COMMANDS[command](path), capsys)
        assert "6 inputs and give 3 actions; CartPole-v1 has 4 and 2" in line


# random damage


def test_random_byte_mutations_give_exit_0_or_one_clean_line(good, tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = np.frombuffer(good.read_bytes(), dtype=np.uint8)
    path = tmp_path / "fuzz.npz"
    outcomes = {0: 0, 2: 0}
    started = time.perf_counter()
    for _ in range(300):
        mutated = data.copy()
        for index in rng.integers(0, len(data), size=rng.integers(1, 8)):
            mutated[index] = rng.integers(0, 256)
        path.write_bytes(mutated.tobytes())
        code = cli.main(["eval", str(path), "--episodes", "1"])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and err.startswith("ac-play: error: ")
        outcomes[code] += 1
    assert outcomes[2] > 30 and time.perf_counter() - started < 30


@pytest.mark.parametrize("kind", ["folder", "fifo", "name too long", "missing"])
def test_a_path_that_is_no_regular_file_is_refused(tmp_path, capsys, kind):
    import os

    path = {"folder": tmp_path, "fifo": tmp_path / "pipe.npz", "name too long": tmp_path / ("x" * 300 + ".npz"),
            "missing": tmp_path / "none" / "a.npz"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    for command in COMMANDS:
        refuse(COMMANDS[command](path), capsys)


def raw_npy(header: str, data: bytes = b"", version: int = 1) -> bytes:
    """An .npy member with exactly this header text (NumPy's writer would refuse to write most of these)."""
    text = header.encode()
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


HEADER = "{'descr': %s, 'fortran_order': False, 'shape': %s, }"
MEMBER_CASES = {
    "empty text dtype": ("meta", raw_npy(HEADER % ("'<U0'", "()"))),
    "code point past U+10FFFF": ("meta", raw_npy(HEADER % ("'<U1'", "()"), struct.pack("<I", 0x110000))),
    "dtype an empty tuple": ("meta", raw_npy(HEADER % ("()", "()"))),
    "shape of booleans": ("optim/t", raw_npy(HEADER % ("'<i8'", "(True,)"), struct.pack("<q", 3))),
    "negative shape": ("param/b1", raw_npy(HEADER % ("'<f8'", "(-8,)"))),
    "header declaring 4 GB": ("meta", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{" * 64),
    "step count past 2**53": ("optim/t", npy_bytes(np.array([2**63 - 2]))),
}


@pytest.mark.parametrize("case", MEMBER_CASES)
def test_hostile_npy_members_are_refused(good, tmp_path, capsys, case):
    name, data = MEMBER_CASES[case]
    members = bomb_members(good)
    members[name] = data
    path = write_npz(tmp_path / "member.npz", members)
    started = time.perf_counter()
    for command in COMMANDS:
        refuse(COMMANDS[command](path), capsys)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "edit",
    [lambda text: text.replace('"gamma": 0.99', '"gamma": 1' + "0" * 400),
     lambda text: text.replace('"seed": 0', '"seed": 1' + "0" * 5000),
     lambda text: text.replace('"episode": 2', '"episode": 1' + "0" * 30)],
    ids=["400-digit number", "5000-digit number", "episode past 2**53"],
)
def test_numbers_too_long_for_a_float_are_refused(good, tmp_path, capsys, edit):
    text = str(arrays_of(good)["meta"])
    edited = edit(text)
    assert edited != text
    path = with_meta(good, tmp_path / "long.npz", lambda meta: edited)
    for command in COMMANDS:
        refuse(COMMANDS[command](path), capsys)
