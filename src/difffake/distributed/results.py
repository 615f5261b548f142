"""The result log: one JSON line per input, appended as each finishes, so a
killed run loses nothing it wrote and a rerun skips the ids already there.

`x.jsonl` is the log itself. For `x.parquet` the log is `x.parquet.jsonl`
beside it and the Parquet file (through pyarrow) is rebuilt from the log at the
end of every run: Parquet files cannot be appended to.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..errors import FileError

log = logging.getLogger("difffake.distributed")

STATUSES = ("ok", "no_face", "error")
# Parquet columns; everything else of a row goes into "detail" as JSON.
PARQUET_COLUMNS = ("id", "path", "status", "reason", "attempts")


def log_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".jsonl") if out.suffix.lower() == ".parquet" else out


class ResultLog:
    def __init__(self, out):
        self.out = Path(out)
        self.path = log_path(out)
        self.done: set[str] = set()
        self.written = 0
        if self.path.exists():
            self.done = self._read_ids()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def _read_ids(self) -> set[str]:
        ids, torn = set(), False
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    ids.add(json.loads(line)["id"])
                except (ValueError, KeyError):
                    if line.endswith("\n"):
                        raise FileError(self.path, f"line {number} is not a result row; "
                                                   "use another --out or delete the file") from None
                    torn = True   # a half-written last line of a killed run: redone
        if torn:
            self._drop_torn_tail()
        return ids

    def _drop_torn_tail(self) -> None:
        data = self.path.read_bytes()
        self.path.write_bytes(data[: data.rfind(b"\n") + 1])
        log.warning("%s: dropped a half-written last line (that input is redone)", self.path)

    def write(self, row: dict) -> None:
        if row["status"] not in STATUSES:
            raise ValueError(f"row status {row['status']!r} not in {STATUSES}")
        self._handle.write(json.dumps(row, sort_keys=True) + "\n")
        self._handle.flush()
        self.written += 1
        if self.written % 200 == 0:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        if self.out.suffix.lower() == ".parquet":
            write_parquet(self.path, self.out)


def read_rows(path) -> list[dict]:
    with log_path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_parquet(jsonl: Path, out: Path, batch: int = 10_000) -> None:
    """The log as Parquet, in batches (the log may be larger than memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("path", pa.string()), ("status", pa.string()),
                        ("reason", pa.string()), ("attempts", pa.int64()), ("detail", pa.string())])
    tmp = out.with_name(out.name + ".tmp")
    with pq.ParquetWriter(tmp, schema) as writer, jsonl.open(encoding="utf-8") as handle:
        rows = []
        for line in handle:
            rows.append(_flat(json.loads(line)))
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema))
    os.replace(tmp, out)


def _flat(row: dict) -> dict:
    flat = {k: row.get(k) for k in PARQUET_COLUMNS}
    flat["detail"] = json.dumps({k: v for k, v in row.items() if k not in PARQUET_COLUMNS}, sort_keys=True)
    return flat
