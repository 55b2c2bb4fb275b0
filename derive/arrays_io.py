"""Reading and writing arrays with one clear line per problem (never a traceback)."""
from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from .errors import BpttError


def load_npy(path: str, what: str) -> np.ndarray:
    """A ``.npy`` array (no pickles)."""
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BpttError(f"{what} file {path!r} does not exist") from None
    except (ValueError, OSError, EOFError) as err:
        raise BpttError(f"{what} file {path!r} is not a readable .npy array ({_short(err)})") from None
    if isinstance(a, np.lib.npyio.NpzFile):
        raise BpttError(f"{what} file {path!r} is an .npz archive; save a single array with numpy.save")
    if not np.issubdtype(a.dtype, np.number):
        raise BpttError(f"{what} file {path!r} holds {a.dtype} data; it must be numeric")
    return a


def load_npz(path: str, what: str = "weights") -> dict:
    """All arrays of an ``.npz`` archive, in sorted key order."""
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise BpttError(f"{what} file {path!r} is a single array; expected an .npz archive of named arrays")
        with z:
            return {k: z[k] for k in sorted(z.files)}
    except FileNotFoundError:
        raise BpttError(f"{what} file {path!r} does not exist") from None
    except BpttError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise BpttError(f"{what} file {path!r} is not a readable .npz archive ({_short(err)})") from None


def save_npz(path: str, arrays: dict) -> None:
    """Write arrays deterministically (sorted keys, fixed zip timestamps), atomically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for k in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[k]), allow_pickle=False)
            info = zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, member.getvalue())
    write_bytes(path, buf.getvalue())


def write_bytes(path: str, data: bytes) -> None:
    """Write via a temporary file and rename, so a failure leaves nothing half-written."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise BpttError(f"cannot write {path!r}: {err.strerror}; choose a writable path") from None


def _short(err) -> str:
    return str(err).splitlines()[0][:120] if str(err) else type(err).__name__
