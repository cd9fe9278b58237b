"""Published page figures: the scheduler computes each page's view once per data minute and
stores it here; app servers read one row instead of recomputing the page.

A snapshot is keyed by the view's name and its arguments (canonical JSON) and belongs to one
data minute: a reader asking for another minute gets None and computes the view itself, so a
snapshot can be late or missing but never wrong. An action that changes what pages show
(a campaign paused, a rule edited) forgets every snapshot in its transaction.

The payload format is our own, not pickle: whoever can write the shared database must not be
able to run code in the app servers. It is a JSON header describing the value (dicts, lists,
tuples, numbers, strings, a fixed set of dataclasses, DataFrames) followed by the frames'
data as raw little-endian arrays: the numeric columns of one dtype as one 2-D array (pandas'
own block layout), text columns as Arrow buffers (offsets, UTF-8 bytes, validity). A reader
then builds each frame from its blocks without converting values one by one (the overview's
published figures: 1.0 -> 0.2 ms to decode). Older payloads (one buffer per numeric column,
texts as lists in the header) still decode.
"""
from __future__ import annotations

import dataclasses
import json
import math
import struct
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.internals import create_dataframe_from_blocks
from sqlalchemy import Connection, delete, func, select

from cockpit.db.dialect import upsert
from cockpit.db.schema import ViewSnapshot

MAGIC = b"CKV1"
NUMERIC_KINDS = {"int64": "<i8", "float64": "<f8", "bool": "|b1", "int32": "<i4"}
TEXT_KINDS = ("str", "string")  # pandas' Arrow-backed text dtypes, carried as Arrow buffers
SNAPSHOTS = ViewSnapshot.__table__


class SnapshotFormatError(ValueError):
    """A value the format cannot carry, or a payload that is not one of ours."""


def _dataclass_types() -> dict[str, type]:
    # Imported here: the dataclasses live in modules that import this one's neighbours.
    from cockpit import alerts, panels
    from cockpit.metrics import read
    from models.phrases import Phrase  # a model's sentence, shown in the reader's language

    return {cls.__name__: cls for cls in (read.Kpis, panels.PanelState, alerts.Rule, Phrase)}


def params_key(params: dict) -> str:
    """The canonical text of a view's arguments."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


# --- encoding ---------------------------------------------------------------------------------

class _Encoder:
    def __init__(self):
        self.buffers: list[bytes] = []
        self.offset = 0
        self.types = _dataclass_types()

    def buffer(self, data: bytes) -> list[int]:
        self.buffers.append(data)
        start, self.offset = self.offset, self.offset + len(data)
        return [start, len(data)]

    def value(self, v: Any):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, np.integer)) and not isinstance(v, np.bool_):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (float, np.floating)):
            v = float(v)
            return v if math.isfinite(v) else {"$": "float", "v": repr(v)}
        if isinstance(v, pd.DataFrame):
            return self.frame(v)
        if isinstance(v, list):
            return [self.value(item) for item in v]
        if isinstance(v, tuple):
            return {"$": "tuple", "v": [self.value(item) for item in v]}
        if isinstance(v, dict):
            if not all(isinstance(key, str) for key in v):
                raise SnapshotFormatError(f"dict keys must be strings: {list(v)[:5]}")
            return {"$": "dict", "v": {key: self.value(item) for key, item in v.items()}}
        if dataclasses.is_dataclass(v) and type(v).__name__ in self.types and type(v) is self.types[type(v).__name__]:
            fields = {f.name: self.value(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}
            return {"$": "dc", "type": type(v).__name__, "v": fields}
        raise SnapshotFormatError(f"cannot store a {type(v).__module__}.{type(v).__name__} in a snapshot")

    def frame(self, frame: pd.DataFrame):
        index = frame.index
        if not isinstance(index, pd.RangeIndex):
            raise SnapshotFormatError("only frames with a RangeIndex can be stored (reset_index first)")
        columns, blocks = [], {}
        for position, name in enumerate(frame.columns):
            if not isinstance(name, str):
                raise SnapshotFormatError(f"column names must be strings: {name!r}")
            series = frame.iloc[:, position]
            dtype = str(series.dtype)
            if dtype in NUMERIC_KINDS:  # stored with the other columns of its dtype, below
                blocks.setdefault(dtype, []).append(position)
                columns.append([name, dtype])
            elif dtype == "Int64":
                values = series.array
                columns.append([name, dtype, self.buffer(np.asarray(values._data, dtype="<i8").tobytes()),
                                self.buffer(np.asarray(values._mask, dtype="|b1").tobytes())])
            elif dtype.startswith("datetime64[") and "," not in dtype:  # naive timestamps: their integer ticks
                ticks = np.ascontiguousarray(series.to_numpy().view("<i8"))
                columns.append([name, dtype, self.buffer(ticks.tobytes())])
            elif dtype in TEXT_KINDS:
                texts = pa.array(self.items(series), type=pa.large_string())
                # validity (None: no missing value), offsets, UTF-8 data (None when empty)
                columns.append([name, dtype, "arrow", *(None if buffer is None else self.buffer(buffer.to_pybytes())
                                                       for buffer in texts.buffers())])
            elif dtype == "object":
                columns.append([name, dtype, [self.value(item) for item in self.items(series)]])
            else:
                raise SnapshotFormatError(f"column {name!r} has dtype {dtype}, which snapshots do not carry")
        stored = []
        for dtype, positions in blocks.items():
            values = np.stack([frame.iloc[:, position].to_numpy() for position in positions])
            stored.append([dtype, self.buffer(np.ascontiguousarray(values, dtype=NUMERIC_KINDS[dtype]).tobytes()), positions])
        return {"$": "frame", "index": [index.start, index.stop, index.step], "columns": columns, "blocks": stored}

    @staticmethod
    def items(series: pd.Series) -> list:
        """The column's values, missing ones (None, NaN, pd.NA) as None."""
        return [None if (item is None or item is pd.NA or (isinstance(item, float) and math.isnan(item))) else item
                for item in series.tolist()]


def encode(value: Any) -> bytes:
    """The payload bytes of a view's value (SnapshotFormatError if it holds an unsupported type)."""
    encoder = _Encoder()
    header = json.dumps(encoder.value(value), separators=(",", ":"), allow_nan=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *encoder.buffers])


# --- decoding ---------------------------------------------------------------------------------

class _Decoder:
    def __init__(self, data: bytes, base: int):
        # A writable copy: the frames' arrays are views of it (pandas may write into them).
        self.data = memoryview(bytearray(data))
        self.base = base
        self.types = _dataclass_types()

    def bytes(self, ref: list[int]) -> memoryview:
        start, length = ref
        if start < 0 or length < 0 or self.base + start + length > len(self.data):
            raise SnapshotFormatError("a snapshot's buffer lies outside its payload")
        return self.data[self.base + start:self.base + start + length]

    def array(self, ref: list[int], dtype: str) -> np.ndarray:
        return np.frombuffer(self.bytes(ref), dtype=dtype)

    def value(self, v: Any):
        if not isinstance(v, (dict, list)):
            return v
        if isinstance(v, list):
            return [self.value(item) for item in v]
        tag = v.get("$")
        if tag == "dict":
            return {key: self.value(item) for key, item in v["v"].items()}
        if tag == "tuple":
            return tuple(self.value(item) for item in v["v"])
        if tag == "float":
            return float(v["v"])
        if tag == "frame":
            return self.frame(v)
        if tag == "dc":
            cls = self.types.get(v["type"])
            if cls is None:
                raise SnapshotFormatError(f"unknown type {v['type']!r} in a snapshot")
            return cls(**{name: self.value(item) for name, item in v["v"].items()})
        raise SnapshotFormatError(f"unknown tag {tag!r} in a snapshot")

    def frame(self, v: dict) -> pd.DataFrame:
        # Built from blocks, not from a dict of columns: DataFrame(dict) checks and converts
        # each column, which cost more than the data itself for the overview's small frames.
        index = pd.RangeIndex(*v["index"])
        if not v["columns"]:
            return pd.DataFrame(index=index)
        rows = len(index)
        blocks = []
        for dtype, ref, positions in v.get("blocks", ()):
            values = self.array(ref, NUMERIC_KINDS[dtype])
            if values.size != rows * len(positions):
                raise SnapshotFormatError("a snapshot's block does not match its frame's length")
            blocks.append((values.reshape(len(positions), rows), np.asarray(positions, dtype=np.intp)))
        for position, column in enumerate(v["columns"]):
            if len(column) > 2:  # a column of its own (all but the blocks' numeric columns)
                values = self.column(column, rows)
                blocks.append((values.reshape(1, rows) if isinstance(values, np.ndarray) else values,
                               np.array([position], dtype=np.intp)))
        placed = sorted(position for _, positions in blocks for position in positions.tolist())
        if placed != list(range(len(v["columns"]))):
            raise SnapshotFormatError("a snapshot's frame does not place each column once")
        return create_dataframe_from_blocks(blocks, index=index, columns=_column_index(tuple(c[0] for c in v["columns"])))

    def column(self, column: list, rows: int):
        """One column's values: a numpy array or a pandas extension array of `rows` values."""
        dtype = column[1]
        if dtype in NUMERIC_KINDS:  # payloads written before the block layout
            values = self.array(column[2], NUMERIC_KINDS[dtype])
        elif dtype == "Int64":
            values = pd.arrays.IntegerArray(self.array(column[2], "<i8"), self.array(column[3], "|b1"))
        elif dtype.startswith("datetime64["):
            values = self.array(column[2], "<i8").view(dtype)
        elif dtype == "object":
            values = np.empty(len(column[2]), dtype=object)
            values[:] = [self.value(item) for item in column[2]]
        elif column[2] == "arrow":
            validity, offsets, data = (None if ref is None else pa.py_buffer(self.bytes(ref)) for ref in column[3:6])
            try:
                texts = pa.Array.from_buffers(pa.large_string(), rows, [validity, offsets, data])
                texts.validate(full=True)  # offsets inside the data, valid UTF-8: never trust a payload
            except (pa.ArrowInvalid, ValueError, TypeError) as exc:
                raise SnapshotFormatError(f"a snapshot's text column is malformed: {exc}") from None
            values = pd.arrays.ArrowStringArray(texts, dtype=_string_dtype(dtype))
        else:  # texts as a list in the header (payloads written before the Arrow layout)
            values = pd.array(column[2], dtype=_string_dtype(dtype))
        if len(values) != rows:
            raise SnapshotFormatError("a snapshot's column does not match its frame's length")
        return values


_STRING_DTYPES: dict[str, object] = {}
# Column labels by names: an Index of texts costs as much to build as a small frame's data, and
# the views' frames come in a few dozen layouts. (An Index is immutable, so frames may share one.)
_COLUMN_INDEXES: dict[tuple[str, ...], pd.Index] = {}
_COLUMN_INDEXES_MAX = 256


def _column_index(names: tuple[str, ...]) -> pd.Index:
    found = _COLUMN_INDEXES.get(names)
    if found is None:
        if len(_COLUMN_INDEXES) >= _COLUMN_INDEXES_MAX:
            _COLUMN_INDEXES.clear()
        found = _COLUMN_INDEXES[names] = pd.Index(list(names))
    return found


def _string_dtype(name: str):
    if name not in _STRING_DTYPES:
        _STRING_DTYPES[name] = pd.Series([], dtype=name).dtype
    return _STRING_DTYPES[name]


def decode(payload: bytes) -> Any:
    """The value encode() stored (SnapshotFormatError if the bytes are not a snapshot)."""
    payload = bytes(payload)
    if payload[:4] != MAGIC or len(payload) < 8:
        raise SnapshotFormatError("not a cockpit snapshot payload")
    (length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8:8 + length])
    return _Decoder(payload, 8 + length).value(header)


# --- the table ----------------------------------------------------------------------------------

def publish(conn: Connection, name: str, params: dict, data_minute: int, value: Any, compute_ms: float) -> int:
    """Store a view's value for data_minute (replacing the previous one); returns its size in bytes."""
    payload = encode(value)
    conn.execute(
        upsert(conn, SNAPSHOTS, ["name", "params"], ["data_minute_utc", "published_ts_utc", "compute_ms", "payload"]),
        {"name": name, "params": params_key(params), "data_minute_utc": int(data_minute),
         "published_ts_utc": time.time(), "compute_ms": float(compute_ms), "payload": payload},
    )
    return len(payload)


def fetch(conn: Connection, name: str, params: dict, data_minute: int) -> Any | None:
    """The view's value published for data_minute, or None (not published, or for another minute)."""
    payload = conn.execute(
        select(SNAPSHOTS.c.payload).where(
            SNAPSHOTS.c.name == name, SNAPSHOTS.c.params == params_key(params),
            SNAPSHOTS.c.data_minute_utc == int(data_minute),
        )
    ).scalar()
    return None if payload is None else decode(payload)


def fetch_latest(conn: Connection, name: str, params: dict) -> tuple[int, Any] | None:
    """(data minute, value) of the view's newest snapshot whatever its minute, or None: for
    results the scheduler recomputes on a slow cadence (forecasts), shown with their age."""
    row = conn.execute(
        select(SNAPSHOTS.c.data_minute_utc, SNAPSHOTS.c.payload).where(
            SNAPSHOTS.c.name == name, SNAPSHOTS.c.params == params_key(params))
    ).first()
    return None if row is None else (int(row[0]), decode(row[1]))


def forget_all(conn: Connection, *, keep: tuple[str, ...] = ("forecasts", "customer_value", "attribution")) -> None:
    """Drop every snapshot but the slow-cadence ones in `keep`: something the pages show
    changed outside the refresh (forecasts do not depend on actions)."""
    conn.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.name.not_in(keep)))


def published(conn: Connection) -> list[tuple]:
    """(name, params, data_minute_utc, compute_ms, size in bytes) of every stored snapshot."""
    return [tuple(row) for row in conn.execute(
        select(SNAPSHOTS.c.name, SNAPSHOTS.c.params, SNAPSHOTS.c.data_minute_utc, SNAPSHOTS.c.compute_ms,
               func.length(SNAPSHOTS.c.payload)).order_by(SNAPSHOTS.c.name, SNAPSHOTS.c.params)).all()]


def publish_computed(engine, name: str, params: dict, compute) -> tuple[int, Any, float] | None:
    """The slow jobs' publishing: compute(conn, data_minute) on a read connection for the
    newest refreshed minute, then store it in a short write transaction (a long fit must not
    hold the writer). Returns (data_minute, value, seconds), or None before any refresh."""
    from cockpit.metrics.read import last_heartbeat

    started = time.perf_counter()
    with engine.connect() as conn:
        beat = last_heartbeat(conn)
        if beat is None:
            return None
        value = compute(conn, beat.data_minute_utc)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        publish(conn, name, params, beat.data_minute_utc, value, seconds * 1000)
    return beat.data_minute_utc, value, seconds
