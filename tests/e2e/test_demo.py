"""`make demo` plays its scripted day against the running system and tells it in plain words."""

import io

from rich.console import Console

from alliance_platform import demo_data
from alliance_platform.demo import Day


def test_the_scripted_day_runs_against_the_running_services(system, client):
    with client(timeout=30) as alliance:
        demo_data.load(alliance, per_district=6)
    told = io.StringIO()
    Day(console=Console(file=told, width=200)).play()
    story = told.getvalue()
    for beat in (
        "floating Party member",
        "transfer due on",
        "reference DM-",
        "closed",
        "refused — clashes with another district's promotion",
        "waitlisted, place 1",
        "the seat goes to the first waiting",
        "evaluation_closed",
        "The day is over.",
    ):
        assert beat in story, f"{beat!r} missing from:\n{story}"
    assert "honour awarded: 5 stars" in story or "no honour" in story
