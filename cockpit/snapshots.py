"""Published page figures: the scheduler computes each page's view once per data minute and
stores it here; app servers read one row instead of recomputing the page.

A snapshot is keyed by the view's name and its arguments (canonical JSON) and belongs to one
data minute: a reader asking for another minute gets None and computes the view itself, so a
snapshot can be late or missing but never wrong. An action that changes what pages show
(a campaign paused, a rule edited) forgets every snapshot in its transaction.

The payload format is our own, not pickle: whoever can write the shared database must not be
able to run code in the app servers. It is a JSON header describing the value (dicts, lists,
tuples, numbers, strings, a fixed set of dataclasses, DataFrames) followed by the frames'
numeric columns as raw little-endian arrays; strings travel in the header.
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
from sqlalchemy import Connection, delete, func, select

from cockpit.db.dialect import upsert
from cockpit.db.schema import ViewSnapshot

MAGIC = b"CKV1"
NUMERIC_KINDS = {"int64": "<i8", "float64": "<f8", "bool": "|b1", "int32": "<i4"}
SNAPSHOTS = ViewSnapshot.__table__


class SnapshotFormatError(ValueError):
    """A value the format cannot carry, or a payload that is not one of ours."""


def _dataclass_types() -> dict[str, type]:
    # Imported here: the dataclasses live in modules that import this one's neighbours.
    from cockpit import alerts, panels
    from cockpit.metrics import read

    return {cls.__name__: cls for cls in (read.Kpis, panels.PanelState, alerts.Rule)}


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
        columns = []
        for name in frame.columns:
            if not isinstance(name, str):
                raise SnapshotFormatError(f"column names must be strings: {name!r}")
            series = frame[name]
            dtype = str(series.dtype)
            if dtype in NUMERIC_KINDS:
                data = np.ascontiguousarray(series.to_numpy(), dtype=NUMERIC_KINDS[dtype])
                columns.append([name, dtype, self.buffer(data.tobytes())])
            elif dtype == "Int64":
                values = series.array
                columns.append([name, dtype, self.buffer(np.asarray(values._data, dtype="<i8").tobytes()),
                                self.buffer(np.asarray(values._mask, dtype="|b1").tobytes())])
            elif dtype.startswith("datetime64[") and "," not in dtype:  # naive timestamps: their integer ticks
                ticks = np.ascontiguousarray(series.to_numpy().view("<i8"))
                columns.append([name, dtype, self.buffer(ticks.tobytes())])
            elif dtype in ("str", "string", "object"):
                items = [None if (item is None or (isinstance(item, float) and math.isnan(item))) else self.value(item)
                         for item in series.tolist()]
                columns.append([name, dtype, items])
            else:
                raise SnapshotFormatError(f"column {name!r} has dtype {dtype}, which snapshots do not carry")
        return {"$": "frame", "index": [index.start, index.stop, index.step], "columns": columns}


def encode(value: Any) -> bytes:
    """The payload bytes of a view's value (SnapshotFormatError if it holds an unsupported type)."""
    encoder = _Encoder()
    header = json.dumps(encoder.value(value), separators=(",", ":"), allow_nan=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *encoder.buffers])


# --- decoding ---------------------------------------------------------------------------------

class _Decoder:
    def __init__(self, data: bytes, base: int):
        self.data = memoryview(data)
        self.base = base
        self.types = _dataclass_types()

    def array(self, ref: list[int], dtype: str) -> np.ndarray:
        start, length = ref
        return np.frombuffer(self.data[self.base + start:self.base + start + length], dtype=dtype).copy()

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
        # Columns as arrays, not Series: a frame's construction costs about as much as its
        # columns' data, and the overview holds a dozen small frames.
        start, stop, step = v["index"]
        data = {}
        for column in v["columns"]:
            name, dtype = column[0], column[1]
            if dtype in NUMERIC_KINDS:
                data[name] = self.array(column[2], NUMERIC_KINDS[dtype])
            elif dtype == "Int64":
                data[name] = pd.arrays.IntegerArray(self.array(column[2], "<i8"), self.array(column[3], "|b1"))
            elif dtype.startswith("datetime64["):
                data[name] = self.array(column[2], "<i8").view(dtype)
            elif dtype == "object":
                values = np.empty(len(column[2]), dtype=object)
                values[:] = [self.value(item) for item in column[2]]
                data[name] = values
            else:
                data[name] = pd.array(column[2], dtype=_STRING_DTYPES.setdefault(dtype, pd.Series([], dtype=dtype).dtype))
        frame = pd.DataFrame(data, copy=False)
        if not data:
            frame = pd.DataFrame(index=pd.RangeIndex(start, stop, step))
        elif (start, step) != (0, 1):
            frame.index = pd.RangeIndex(start, stop, step)
        return frame


_STRING_DTYPES: dict[str, object] = {}


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
