"""Reading an untrusted .npz: a zip of .npy members, checked before anything is inflated or allocated.

Nothing in the file is trusted. The zip's directory must be plain (no encryption, only the stored
and deflate methods NumPy writes, a handful of members); a member is read only after its .npy
header has been parsed and its declared shape and dtype are the ones the caller expects, and no
more bytes are read than that shape needs, so a member that inflates to gigabytes or a header
declaring 10^12 elements is refused at once, in constant memory. Pickles are never loaded.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBERS = 64
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
HEADER_LIMIT = 4096
"""Bytes a .npy header may take (NumPy writes under 200 for our arrays)."""
READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    IndexError,
    KeyError,
    TypeError,
    SystemError,
    MemoryError,
)
"""What zipfile, zlib and NumPy raise on a damaged or hostile container."""


class NpzError(Exception):
    """The file is not an .npz this reader accepts; the message says why."""


class Archive:
    """An open, checked .npz: its members by array name, read one at a time against expectations."""

    def __init__(self, path: Path):
        try:
            with open(path, "rb") as handle:
                magic = handle.read(4)
        except OSError as exc:
            raise NpzError(exc.strerror or str(exc)) from None
        if magic != ZIP_MAGIC:
            # checked first: np.load would take any other file for a pickle
            raise NpzError("empty file" if not magic else "not a zip archive")
        try:
            self.zip = zipfile.ZipFile(path)
        except READ_ERRORS as exc:
            raise NpzError(_reason(exc)) from None
        try:
            self.members = self._check_directory(self.zip.infolist())
        except BaseException:
            self.zip.close()  # refused: no descriptor left open behind the error
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.zip.close()

    @staticmethod
    def _check_directory(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > MAX_MEMBERS:
            raise NpzError(f"{len(infos)} members; a checkpoint has at most {MAX_MEMBERS}")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.flag_bits & 0x1:
                raise NpzError(f"member {info.filename!r} is encrypted")
            if info.compress_type not in METHODS:
                raise NpzError(f"member {info.filename!r} uses compression method {info.compress_type}")
            if not info.filename.endswith(".npy"):
                raise NpzError(f"member {info.filename!r} is not an .npy array")
            name = info.filename[: -len(".npy")]
            if name in members:
                raise NpzError(f"member {info.filename!r} appears twice")
            members[name] = info
        return members

    def read(self, name: str, shape: tuple[int, ...], kinds: str, max_bytes: int | None = None) -> np.ndarray:
        """Array `name`, which must have `shape`, a dtype of one of `kinds` ("f", "i", "U") and, when
        given, at most `max_bytes` of data (a string's length is not known in advance). The header's
        declarations are checked before a byte of data is read.
        """
        info = self.members[name]
        try:
            with self.zip.open(info) as member:
                declared_shape, dtype = _header(member)
                nbytes = _check_declared(name, declared_shape, dtype, shape, kinds, max_bytes)
                data = member.read(nbytes + 1)
            if len(data) > nbytes:
                raise NpzError(f"member {name!r} holds more data than the {nbytes} bytes its header declares")
            if len(data) < nbytes:
                raise NpzError(f"member {name!r} holds {len(data)} bytes of data; its header declares {nbytes}")
            return np.frombuffer(data, dtype=dtype).reshape(declared_shape).copy()
        except READ_ERRORS as exc:
            raise NpzError(f"member {name!r}: {_reason(exc)}") from None


def _header(member) -> tuple[tuple[int, ...], np.dtype]:
    """The declared shape and dtype, from a header read within HEADER_LIMIT bytes whatever it claims."""
    magic = member.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise NpzError("not an .npy array")
    version = (magic[6], magic[7])
    size_format = {(1, 0): "<H", (2, 0): "<I"}.get(version)
    if size_format is None:
        raise NpzError(f".npy format version {version} is not supported")
    length_bytes = member.read(struct.calcsize(size_format))
    (length,) = struct.unpack(size_format, length_bytes)
    if length > HEADER_LIMIT:
        # checked here: NumPy would read a header of any declared length before its own check
        raise NpzError(f"its .npy header declares {length:,} bytes; at most {HEADER_LIMIT} are allowed")
    text = member.read(length)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    shape, fortran_order, dtype = read_header[version](io.BytesIO(length_bytes + text), max_header_size=HEADER_LIMIT)
    if not all(type(length) is int and length >= 0 for length in shape):
        raise NpzError(f"its .npy header declares the shape {shape!r}")
    if fortran_order and len(shape) > 1:
        raise NpzError("Fortran-ordered arrays are not written by ac-play")
    return tuple(shape), dtype


def _check_declared(
    name: str, declared: tuple[int, ...], dtype: np.dtype, shape: tuple[int, ...], kinds: str, max_bytes: int | None
) -> int:
    """The data bytes the member must hold, once its declared shape and dtype are acceptable."""
    if dtype.hasobject:
        raise NpzError(f"member {name!r} holds pickled objects, which ac-play never loads")
    if dtype.kind not in kinds:
        raise NpzError(f"member {name!r} has dtype {dtype}, expected {'/'.join(KIND_NAMES[k] for k in kinds)}")
    elements = 1
    for length in declared:
        elements *= length
    nbytes = elements * dtype.itemsize
    if declared != shape:
        raise NpzError(f"member {name!r} has shape {declared}, expected {shape}")
    if max_bytes is not None and nbytes > max_bytes:
        raise NpzError(f"member {name!r} declares {nbytes:,} bytes; at most {max_bytes:,} are allowed")
    return nbytes


KIND_NAMES = {"f": "float", "i": "integer", "U": "text"}


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
