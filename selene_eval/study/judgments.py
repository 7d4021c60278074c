"""The judgment database: one SQLite file per study, written as judgments come in.

SQLite gives what a long unattended run needs: each batch is committed in one transaction (a crash loses
at most the batch in flight, never half a row; ``synchronous = FULL`` makes a commit survive a power cut
too), WAL mode lets the dashboard read while a run writes, and a ``busy_timeout`` makes concurrent writers
wait instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.errors import StudyError
from selene_eval.study.reasons import short_reason
from selene_eval.study.spec import utc_now

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judges (
    judge_id TEXT PRIMARY KEY,
    spec_json TEXT NOT NULL,
    first_used TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS judgments (
    cache_key TEXT PRIMARY KEY,
    judge_id TEXT NOT NULL REFERENCES judges(judge_id),
    item_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    variant_hash TEXT NOT NULL,
    label TEXT,
    status TEXT NOT NULL,
    reasoning TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    n_prompt_tokens INTEGER,
    n_new_tokens INTEGER,
    label_probs TEXT,
    duration_s REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS judgments_by_judge ON judgments (judge_id, variant_id);
CREATE TABLE IF NOT EXISTS failures (
    cache_key TEXT PRIMARY KEY,
    judge_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


# Created by the first recorded run, not on opening: reading a study (a committed example, say) never writes
# to its database.
_RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    judge_id TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    variant_ids TEXT NOT NULL,
    item_limit INTEGER,
    sample_seed INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    n_items INTEGER NOT NULL,
    started_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class StoredJudgment:
    """One judgment as stored."""

    cache_key: str
    judge_id: str
    item_id: str
    variant_id: str
    variant_hash: str
    label: str | None
    status: str
    reasoning: str
    raw_text: str
    finish_reason: str
    n_prompt_tokens: int | None = None
    n_new_tokens: int | None = None
    label_probs: dict[str, float] | None = None
    duration_s: float | None = None
    created_at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class StoredFailure:
    """A prompt the backend could not answer (kept apart so a re-run retries it)."""

    cache_key: str
    judge_id: str
    item_id: str
    variant_id: str
    error: str
    created_at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class RunRecord:
    """What one run was asked to judge, kept so that the report's commands can repeat it exactly.

    ``limit`` is the pilot's size (``None``: every item), drawn with ``sample_seed``; ``judge`` holds every
    setting of the judge, the ones outside its identity (servers, device) included.
    """

    judge: JudgeSpec
    variant_ids: tuple[str, ...]
    limit: int | None
    sample_seed: int
    batch_size: int
    n_items: int
    started_at: str = field(default_factory=utc_now)


_COLUMNS = [f for f in StoredJudgment.__dataclass_fields__]


class JudgmentStore:
    """Read and write one study's ``judgments.sqlite``. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            # FULL, not NORMAL: in WAL mode NORMAL survives a killed process but may lose the last commits to a
            # power cut. One fsync per batch costs nothing next to the seconds a batch of judgments takes.
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._transaction() as cur:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        cur.execute(statement)
                cur.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
        except sqlite3.DatabaseError as exc:
            raise StudyError(
                f"The judgment database {self.path} cannot be opened ({exc}); if the file is damaged, move it "
                "aside and re-run the study (finished judgments in it would be judged again)."
            ) from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a damaged database or row becomes a :class:`StudyError`."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.IntegrityError:
                raise  # a write that breaks our own constraints is a bug to see, not a damaged file
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StudyError(
                        f"The judgment database {self.path} stayed locked by another process for "
                        "30 s; try again when it is done."
                    ) from None
                raise self._damaged(exc) from None
            except sqlite3.DatabaseError as exc:
                raise self._damaged(exc) from None
            except (ValueError, TypeError, KeyError, RecursionError) as exc:  # a row that is not ours
                raise self._damaged(exc) from None

    def _damaged(self, exc: BaseException) -> StudyError:
        detail = short_reason(exc)
        return StudyError(
            f"The judgment database {self.path} is damaged or not a selene-eval database ({detail}); move it "
            "aside and re-run the study (its judgments would be judged again), or import the study again."
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._reading():
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def register_judge(self, spec: JudgeSpec) -> str:
        """Record a judge's settings (once) and return its id."""
        with self._transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO judges (judge_id, spec_json, first_used) VALUES (?, ?, ?)",
                (spec.judge_id, spec.model_dump_json(), utc_now()),
            )
        return spec.judge_id

    def judges(self) -> list[JudgeSpec]:
        """Every judge that has judgments or was registered, in the order they were first used."""
        with self._reading() as conn:
            rows = conn.execute("SELECT spec_json FROM judges ORDER BY first_used, rowid").fetchall()
            return [JudgeSpec.model_validate_json(r[0]) for r in rows]

    def rename_judge(self, judge_id: str, name: str | None) -> JudgeSpec:
        """Give a judge a short display name (``None`` or blank: back to the automatic one).

        The name is not part of the judge's identity, so its judgments and cache keys are untouched.
        Raises :class:`StudyError` for an unknown judge or a name longer than 80 characters.
        """
        cleaned = (name or "").strip() or None
        if cleaned is not None and (len(cleaned) > 80 or any(ord(c) < 32 for c in cleaned)):
            raise StudyError("A judge's name must be one line of at most 80 characters.")
        with self._transaction() as cur:
            row = cur.execute("SELECT spec_json FROM judges WHERE judge_id = ?", (judge_id,)).fetchone()
            if row is None:
                raise StudyError(f"This study has no judge with id {judge_id!r}; list them with the 'judges' command.")
            spec = JudgeSpec.model_validate_json(row[0]).model_copy(update={"name": cleaned})
            cur.execute("UPDATE judges SET spec_json = ? WHERE judge_id = ?", (spec.model_dump_json(), judge_id))
        return spec

    def add(self, judgments: Sequence[StoredJudgment], failures: Sequence[StoredFailure] = ()) -> None:
        """Store a batch of judgments and failures in one transaction.

        A judgment replaces a failure with the same key; an existing judgment is never overwritten (the same
        key means the same prompt and settings, hence the same answer under greedy decoding).
        """
        if not judgments and not failures:
            return
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._transaction() as cur:
            cur.executemany(
                f"INSERT OR IGNORE INTO judgments ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                [_row(j) for j in judgments],
            )
            cur.executemany("DELETE FROM failures WHERE cache_key = ?", [(j.cache_key,) for j in judgments])
            cur.executemany(
                "INSERT OR REPLACE INTO failures (cache_key, judge_id, item_id, variant_id, error, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(f.cache_key, f.judge_id, f.item_id, f.variant_id, f.error, f.created_at) for f in failures],
            )

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` that already has a judgment."""
        keys = list(keys)
        found: set[str] = set()
        with self._reading():
            for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
                chunk = keys[start : start + 900]
                sql = f"SELECT cache_key FROM judgments WHERE cache_key IN ({', '.join('?' for _ in chunk)})"
                found.update(r[0] for r in self._conn.execute(sql, chunk))
        return found

    def get(self, keys: Iterable[str]) -> dict[str, StoredJudgment]:
        """Judgments for ``keys`` (missing keys are absent from the result)."""
        keys = list(keys)
        out: dict[str, StoredJudgment] = {}
        with self._reading():
            for start in range(0, len(keys), 900):
                chunk = keys[start : start + 900]
                sql = (
                    f"SELECT {', '.join(_COLUMNS)} FROM judgments WHERE cache_key IN ({', '.join('?' for _ in chunk)})"
                )
                for row in self._conn.execute(sql, chunk):
                    judgment = _from_row(row)
                    out[judgment.cache_key] = judgment
        return out

    def failures(self, judge_id: str | None = None) -> list[StoredFailure]:
        """Prompts that failed and have not been judged since."""
        sql = "SELECT cache_key, judge_id, item_id, variant_id, error, created_at FROM failures"
        args: tuple[str, ...] = ()
        if judge_id:
            sql += " WHERE judge_id = ?"
            args = (judge_id,)
        with self._reading():
            return [StoredFailure(*row) for row in self._conn.execute(sql + " ORDER BY created_at", args)]

    def add_run(self, run: RunRecord) -> None:
        """Record a run as it starts (before its first judgment is stored)."""
        with self._transaction() as cur:
            cur.execute(_RUNS_SCHEMA)
            cur.execute(
                "INSERT INTO runs (judge_id, spec_json, variant_ids, item_limit, sample_seed, batch_size, n_items, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.judge.judge_id,
                    run.judge.model_dump_json(),
                    json.dumps(list(run.variant_ids)),
                    run.limit,
                    run.sample_seed,
                    run.batch_size,
                    run.n_items,
                    run.started_at,
                ),
            )

    def runs(self) -> list[RunRecord]:
        """Every recorded run, oldest first (studies judged before runs were recorded have none)."""
        with self._reading() as conn:  # a damaged runs table is a StudyError, not a traceback
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone():
                return []
            rows = conn.execute(
                "SELECT spec_json, variant_ids, item_limit, sample_seed, batch_size, n_items, started_at FROM runs "
                "ORDER BY run_id"
            ).fetchall()
            return [
                RunRecord(
                    JudgeSpec.model_validate_json(r[0]),
                    tuple(json.loads(r[1])),
                    r[2],
                    int(r[3]),
                    int(r[4]),
                    int(r[5]),
                    str(r[6]),
                )
                for r in rows
            ]

    def count(self, judge_id: str | None = None) -> int:
        """Number of stored judgments (of one judge, or all)."""
        with self._reading():
            if judge_id:
                return self._conn.execute("SELECT COUNT(*) FROM judgments WHERE judge_id = ?", (judge_id,)).fetchone()[
                    0
                ]
            return self._conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]


def _row(j: StoredJudgment) -> tuple[object, ...]:
    values = []
    for name in _COLUMNS:
        value = getattr(j, name)
        if name == "label_probs" and value is not None:
            value = json.dumps(value, sort_keys=True)
        values.append(value)
    return tuple(values)


def _from_row(row: Sequence[object]) -> StoredJudgment:
    """A stored row as a judgment; ``ValueError`` for a row this program did not write (a damaged database)."""
    data = dict(zip(_COLUMNS, row))
    if data["label_probs"] is not None:
        data["label_probs"] = parse_label_probs(data["label_probs"])
    return StoredJudgment(**data)  # type: ignore[arg-type]


def parse_label_probs(value: object) -> dict[str, float]:
    """Stored ``label_probs`` (JSON text) as a mapping label -> probability in [0, 1]; ``ValueError`` if not one."""
    parsed = json.loads(str(value), parse_constant=_no_constant)
    if not isinstance(parsed, dict):
        raise ValueError("label_probs is not a JSON object")
    probs = {}
    for label, p in parsed.items():
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"label_probs gives {label!r} a value that is not a probability")
        probs[label] = float(p)
    return probs


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")
