"""Processes of the lakehouse services are known by PID and start time: a stop signals only the very process that
was started (never a later one with the same PID), stops its process group, and is idempotent. No service runs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from thuocdo.store.processes import (
    GRPC_OFFSET,
    Process,
    descendants,
    free_port_pair,
    port_free,
    running,
    spawn,
    start_time,
    stop,
)


def test_a_process_is_its_pid_and_its_start_time() -> None:
    me = start_time(os.getpid())
    assert me is not None
    assert running(Process(os.getpid(), me))
    assert not running(Process(os.getpid(), me + 1))  # same PID, another start: another process
    assert not stop(Process(os.getpid(), me + 1))  # so it is not signalled (this test would die)


def test_spawn_and_stop_a_process_group(tmp_path: Path) -> None:
    script = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
              " print('up', flush=True); time.sleep(60)")
    log = tmp_path / "logs" / "child.log"
    parent = spawn([sys.executable, "-c", script], log=log)
    assert running(parent)
    for _ in range(100):
        children = descendants(parent)
        if children:
            break
        time.sleep(0.05)
    assert len(children) == 1
    assert stop(parent, timeout=10)
    assert not running(parent) and not any(running(c) for c in children)  # the whole group
    assert not stop(parent)  # idempotent
    assert log.is_file()


def test_port_pairs_are_free_with_their_grpc_port() -> None:
    taken: set[int] = set()
    ports = [free_port_pair(taken=taken) for _ in range(5)]
    assert len(set(ports)) == 5
    assert all(port_free(p) and port_free(p + GRPC_OFFSET) for p in ports)
    assert taken == set(ports) | {p + GRPC_OFFSET for p in ports}
