"""The dbt parse cache is shared by every process of a user: one parses into it at a time."""

import fcntl
import os
import subprocess
import sys
import time

from journeys.transforms import dbt_project

_PARSE = """
from journeys.settings import load_settings
from journeys.transforms import dbt_project
print(len(dbt_project.manifest(load_settings()).nodes))
"""


def _waits_for_a_lock(process: subprocess.Popen, timeout_s: float = 60.0) -> bool:
    """True once the kernel lists `process` as blocked on a file lock (/proc/locks: "->" lines)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        waiting = [line.split() for line in open("/proc/locks") if "->" in line]
        if any(str(process.pid) in fields for fields in waiting):
            return True
        time.sleep(0.1)
    return False


def test_a_second_process_waits_for_the_parse_lock_then_parses(tmp_path, env_clean):
    """While one process holds a project's parse lock, another's parse waits; once it is free,
    the other parses the whole project (the cache is never read half-written)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "JOURNEYS_HOME": str(tmp_path / "home")}
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        folder = dbt_project._parse_dir(dbt_project.PROJECT_DIR)
    finally:
        os.environ.pop("XDG_CACHE_HOME") if previous is None else os.environ.update(XDG_CACHE_HOME=previous)
    folder.mkdir(parents=True)
    with open(folder / "parse.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        other = subprocess.Popen([sys.executable, "-c", _PARSE], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert _waits_for_a_lock(other), "the parse did not wait for the lock"
        assert not (folder / "partial_parse.msgpack").exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err[-2000:]
    assert int(out.split()[-1]) > 40  # every model and data test of the project
    assert (folder / "partial_parse.msgpack").exists()
