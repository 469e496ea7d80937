"""Malformed files through the real command line: a clear answer (exit 0 or 2), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hardening.malformed import READ, UNREADABLE, write_corpus

SRC = str(Path(__file__).resolve().parents[2] / "src")


def ingest(home: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "thuocdo", "--home", str(home), "ingest", "usage", str(path),
                           "--source", "s"], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.slow  # one process per file: about a minute
def test_every_malformed_file_gets_a_clear_answer(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    assert len(corpus) >= 60
    paths = sorted(corpus)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda p: ingest(tmp_path / "homes" / p.name, p), paths))
    wrong = []
    for path, result in zip(paths, results, strict=True):
        expect = corpus[path]
        if "Traceback" in result.stderr or result.returncode not in (0, 2):
            wrong.append(f"{path.name}: exit {result.returncode}\n{result.stderr[-3000:]}")
        elif expect == UNREADABLE and (result.returncode != 2 or path.name not in result.stderr):
            wrong.append(f"{path.name}: expected exit 2 naming the file, got {result.returncode}: {result.stderr}")
        elif expect == READ and result.returncode != 0:
            wrong.append(f"{path.name}: expected the file read (exit 0), got {result.returncode}: {result.stderr}")
    assert wrong == [], "\n\n".join(wrong)
