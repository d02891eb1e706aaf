"""The figures `journeys demo` ends with, read from the published warehouse."""

from __future__ import annotations

from collections.abc import Callable

from journeys import warehouse
from journeys.settings import Settings


def print_summary(settings: Settings, echo: Callable[[str], None] = print) -> None:
    con = warehouse.reader(settings)
    try:
        echo("\nEvents per channel (raw.touchpoints):")
        for channel, n in con.execute("select channel, count(*) from raw.touchpoints group by 1 order by 2 desc").fetchall():
            echo(f"  {channel:12} {n:>10,}")
        loaded, dead = con.execute("select sum(n_loaded), sum(n_dead_lettered) from raw.load_runs").fetchone()
        echo(f"loaded {loaded or 0:,}, dead-lettered {dead or 0:,}")
        for section in SECTIONS:
            section(con, echo)
    finally:
        con.close()


SECTIONS: list[Callable] = []
"""Later layers append a function(con, echo) each for their headline figures."""
