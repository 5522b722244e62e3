from datetime import UTC, datetime, timedelta

from alliance_platform.clock import Clock, ControlledTime


def test_without_an_offset_file_the_clock_is_real_time():
    before = datetime.now(UTC)
    assert before <= Clock().now() <= datetime.now(UTC)


def test_clocks_reading_the_same_file_move_together(tmp_path):
    path = tmp_path / "offset"
    first, second = Clock(path), Clock(path)
    assert first.offset() == 0.0  # no file yet
    ControlledTime(path).advance(days=183)
    ControlledTime(path).advance(hours=2)
    expected = timedelta(days=183, hours=2).total_seconds()
    assert first.offset() == second.offset() == expected
    assert abs((first.now() - datetime.now(UTC)).total_seconds() - expected) < 5


def test_the_clock_can_be_set_to_a_moment(tmp_path):
    moment = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    ControlledTime(tmp_path / "offset").set(moment)
    assert abs((Clock(tmp_path / "offset").now() - moment).total_seconds()) < 5
