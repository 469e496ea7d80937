"""Local processes of the lakehouse's services, and loopback ports for them.

Every process is started in a session of its own (its process group is its PID) and is known by its PID *and*
its start time, so that a process started later under a reused PID is never taken for it (:class:`Process`).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
#: SeaweedFS listens for gRPC on each HTTP port + 10000 (some of its clients assume so whatever the options say)
GRPC_OFFSET = 10000


class ServiceError(RuntimeError):
    """A service could not be started (the message says why, in Vietnamese, and where its log is)."""


# -- processes ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Process:
    """A process this module started: its PID and its start time (clock ticks after boot, from /proc)."""

    pid: int
    started: int

    def to_json(self) -> dict[str, int]:
        return {"pid": self.pid, "started": self.started}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Process:
        return cls(int(data["pid"]), int(data["started"]))


def start_time(pid: int) -> int | None:
    """The start time of process `pid` (field 22 of /proc/PID/stat), None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name, in parentheses, may hold spaces
    return int(fields[19])


def running(process: Process) -> bool:
    """True while the very process that was started runs (a zombie counts as ended)."""
    if start_time(process.pid) != process.started:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{process.pid}/stat").read_text()
        return state[state.rindex(")") + 2] != "Z"
    return False


def rss_bytes(process: Process) -> int:
    """Resident memory of the process (0 when it has ended)."""
    if not running(process):
        return 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{process.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def spawn(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Process:
    """Start `argv` in a new session (its own process group), output appended to `log`, no standard input."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        child = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True)
    started = start_time(child.pid)
    if started is None:  # ended at once: reap it and say so
        child.wait()
        raise ServiceError(f"Tiến trình {argv[0]} dừng ngay khi khởi động; xem {log}.")
    _children[child.pid] = child
    return Process(child.pid, started)


#: the children this process started, kept so that they are reaped when they end (no zombie left behind)
_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap() -> None:
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def stop(process: Process, *, first: signal.Signals = signal.SIGTERM, group: bool = True,
         timeout: float = 30) -> bool:
    """Stop a process started by :func:`spawn`: `first` to it (or to its whole process group), then, after
    `timeout` seconds, SIGKILL to the group. Returns False when it was not running (nothing is signalled: a
    reused PID is never touched). Idempotent."""
    return bool(stop_all([process], first=first, group=group, timeout=timeout))


def stop_all(processes: Sequence[Process], *, first: signal.Signals = signal.SIGTERM, group: bool = True,
             timeout: float = 30) -> list[Process]:
    """:func:`stop` for several processes at once (signalled together, waited for together: with `group`, the
    other processes of their groups too); returns those that were running."""
    _reap()
    targets = [p for p in processes if running(p)]
    # the groups' other members, found before the signal: a leader that ends first does not end its group
    members = {p.pid: [d for d in descendants(p) if _group(d) == p.pid] for p in targets} if group else {}
    for process in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(process.pid, first)
            else:
                os.kill(process.pid, first)
    waited = targets + [m for found in members.values() for m in found]
    deadline = time.monotonic() + timeout
    while any(running(p) for p in waited) and time.monotonic() < deadline:
        _reap()
        time.sleep(0.1)
    for process in targets:
        if running(process) or any(running(m) for m in members.get(process.pid, [])):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
    while any(running(p) for p in waited) and time.monotonic() < deadline + 10:
        _reap()
        time.sleep(0.1)
    _reap()
    return targets


def _group(process: Process) -> int | None:
    """The process group of a running process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        return os.getpgid(process.pid)
    return None


def descendants(process: Process) -> list[Process]:
    """The processes started by `process`, their own children and so on (read from /proc), while they run."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found: list[Process] = []
    todo = list(children.get(process.pid, [])) if running(process) else []
    while todo:
        pid = todo.pop()
        started = start_time(pid)
        if started is not None and running(Process(pid, started)):  # zombies are left out
            found.append(Process(pid, started))
            todo.extend(children.get(pid, []))
    return found


# -- ports -------------------------------------------------------------------------------------------------
def port_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` now (the system's choice)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_pair(offset: int = GRPC_OFFSET, taken: set[int] | None = None) -> int:
    """A port `p` such that `p` and `p + offset` are both free on loopback (and not in `taken`)."""
    taken = taken if taken is not None else set()
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(20000, 65535 - offset)
        if not {port, port + offset} & taken and port_free(port) and port_free(port + offset):
            taken.update({port, port + offset})
            return port
    raise ServiceError("Không tìm được cổng trống trên 127.0.0.1.")


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for(check: Callable[[], bool], *, timeout: float, process: Process | None = None, what: str,
             log: Path) -> None:
    """Wait until `check()` holds; fail when `process` ends first or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and not running(process):
            raise ServiceError(f"{what} đã dừng khi đang khởi động; xem {log}.")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} chưa sẵn sàng sau {timeout:.0f} giây; xem {log}.")
        time.sleep(0.1)
