"""Results: each figure beside the baselines measured in the same run, as a table and as JSON."""

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# Piped output (``make bench | tee``, CI logs) has no width to respect: don't squeeze the table to 80.
console = Console(width=None if sys.stdout.isatty() else 120)


@dataclass(frozen=True)
class Result:
    scenario: str
    variant: str
    unit: str
    figure: float
    baselines: dict  # baseline name -> figure in the same unit, from this run
    compared_to: str  # the baseline the ratio is taken against
    goal: str
    met: bool

    @property
    def ratio(self):
        return self.figure / self.baselines[self.compared_to]


def progress(text):
    console.print(f"[dim]{text}[/dim]")


def _number(value):
    # Latencies of a few milliseconds need their decimal; rates in the thousands do not.
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def print_table(results, quick):
    table = Table(
        box=box.SIMPLE_HEAD, title="make bench" + (" --quick: a smoke test, not a measurement" if quick else "")
    )
    table.add_column("scenario")
    table.add_column("variant")
    table.add_column("figure", justify="right", no_wrap=True)
    table.add_column("baselines, same run", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("goal")
    table.add_column("verdict", no_wrap=True)
    for r in results:
        table.add_row(
            r.scenario,
            r.variant,
            f"{_number(r.figure)} {r.unit}",
            "\n".join(f"{name} {_number(value)}" for name, value in r.baselines.items()),
            f"{r.ratio:.2f}×",
            r.goal,
            "[green]PASS[/green]" if r.met else "[red]MISS[/red]",
        )
    console.print(table)


def write_json(results, quick, started_at):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "quick": quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": [{**asdict(r), "ratio": r.ratio} for r in results],
    }
    RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return RESULTS
