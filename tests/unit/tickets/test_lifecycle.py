import pytest

from alliance_platform.errors import Conflict
from alliance_tickets.domain import lifecycle as lc


def test_the_happy_path_of_a_demand():
    state = lc.SUBMITTED
    for action in (
        "accept",
        "start",
        "request_info",
        "provide_info",
        "refer",
        "record_partner_reply",
        "resolve",
        "close",
    ):
        state = lc.next_state(state, action)
    assert state == lc.CLOSED


@pytest.mark.parametrize(
    "state, action",
    [
        (lc.SUBMITTED, "resolve"),
        (lc.CLOSED, "accept"),
        (lc.ACCEPTED, "accept"),  # two staff accepting: the second finds it accepted
        (lc.RESOLVED, "cancel"),
        (lc.IN_PROGRESS, "reject"),
        (lc.CANCELLED, "reopen"),
    ],
)
def test_an_illegal_step_is_a_conflict_naming_what_is_allowed(state, action):
    with pytest.raises(Conflict, match=f"that is {state}"):
        lc.next_state(state, action)


def test_every_state_but_the_final_ones_can_move_on():
    for state in lc.STATES:
        assert bool(lc.allowed_actions(state)) == (state not in {lc.REJECTED, lc.CANCELLED})
    assert lc.allowed_actions(lc.CLOSED) == ["reopen"]


def test_a_poor_rating_reopens():
    assert lc.rating_reopens(1) and lc.rating_reopens(2) and not lc.rating_reopens(3)
