"""Grouping the frames of a stack into time points (saxs_mc.series.grouping), on synthetic stacks."""

from __future__ import annotations

import json

import fabio
import h5py
import hdf5plugin
import numpy as np
import pytest

from saxs_mc.io.frames import expand_sources, iter_frames
from saxs_mc.series.grouping import FrameStack, Grouping, GroupingError, group_frames, open_stack, read_timestamps

N, SHAPE = 40, (6, 5)
PERIOD = 0.25


def _stack(path, n=N, times=None, *, time_units="s", nexus_axis=True):
    """An HDF5 stack whose frame i holds the value i everywhere (so references can be checked by content)."""
    data = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None, None], (n, *SHAPE))
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["default"] = "data"
        det = f.create_group("/entry/instrument/detector")
        ds = det.create_dataset("data", data=data, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle(cname="lz4"))
        nxd = entry.create_group("data")
        nxd.attrs["signal"] = "data"
        nxd["data"] = ds
        if times is not None:
            t = nxd.create_dataset("time", data=np.asarray(times, dtype=float))
            t.attrs["units"] = time_units
            if nexus_axis:
                nxd.attrs["axes"] = ["time", ".", "."]
    return f"{path}::/entry/instrument/detector/data"


def _times(n=N, period=PERIOD):
    return (np.arange(n) + 0.5) * period


def _values(sources):
    """Frame contents (the frame index stored in each frame) read through saxs_mc.io.frames."""
    return [int(fr.data[0, 0]) for fr in iter_frames(list(sources))]


def test_every_n_frames_gives_contiguous_groups_readable_by_io_frames(tmp_path):
    src = _stack(tmp_path / "run.h5", times=_times())
    g = group_frames(src, Grouping(every=8))
    assert len(g) == 5 and [tp.n_frames for tp in g] == [8] * 5
    assert g[1].sources == (f"{tmp_path / 'run.h5'}::/entry/instrument/detector/data[8:16]",)
    assert _values(g[1].sources) == list(range(8, 16))
    # times come from the NeXus time axis: centre = mean of the member mid-exposure times
    assert g[1].time_s == pytest.approx(np.mean(_times()[8:16]))
    assert (g[1].start_s, g[1].end_s) == pytest.approx((_times()[8], _times()[15]))
    assert g.timestamps_source.startswith("NeXus time axis")


def test_last_partial_group_is_kept_or_dropped(tmp_path):
    src = _stack(tmp_path / "run.h5")
    kept = group_frames(src, Grouping(every=12))
    assert [tp.frames for tp in kept][-1] == tuple(range(36, 40))
    assert kept[0].time_s is None  # no timestamps: no times, never invented
    dropped = group_frames(src, Grouping(every=12, drop_partial=True))
    assert len(dropped) == 3 and all(tp.n_frames == 12 for tp in dropped)


def test_moving_window_in_frames(tmp_path):
    src = _stack(tmp_path / "run.h5", times=_times())
    g = group_frames(src, Grouping(every=10, step=5))
    assert [tp.frames[0] for tp in g] == [0, 5, 10, 15, 20, 25, 30]  # only full windows
    assert all(tp.n_frames == 10 for tp in g)
    assert _values(g[3].sources) == list(range(15, 25))


def test_time_windows_from_hdf5_dataset_in_milliseconds(tmp_path):
    t_ms = _times() * 1000.0
    src = _stack(tmp_path / "run.h5", times=t_ms, time_units="ms", nexus_axis=False)
    g = group_frames(src, Grouping(window_s=2.0), timestamps=f"{tmp_path / 'run.h5'}::/entry/data/time")
    # 40 frames x 0.25 s = 10 s -> five 2 s windows of 8 frames, from the first timestamp
    assert [tp.frames for tp in g] == [tuple(range(8 * k, 8 * k + 8)) for k in range(5)]
    assert g[0].start_s == pytest.approx(0.125) and g[0].end_s == pytest.approx(2.125)
    assert g[2].time_s == pytest.approx(np.mean(_times()[16:24]))


def test_time_windows_from_sidecar_csv_and_moving(tmp_path):
    src = _stack(tmp_path / "run.h5")
    csv = tmp_path / "run_frames.csv"
    csv.write_text("frame,t_elapsed,I0\n" + "".join(f"{i},{t:.4f},1e9\n" for i, t in enumerate(_times())))
    g = group_frames(src, Grouping(window_s=2.0, step_s=1.0, origin_s=0.0), timestamps=f"{csv}::t_elapsed")
    # windows [0,2), [1,3), ... [8,10): nine, each 8 frames
    assert len(g) == 9 and all(tp.n_frames == 8 for tp in g)
    assert [tp.frames[0] for tp in g] == [4 * k for k in range(9)]
    assert [tp.start_s for tp in g] == pytest.approx([float(k) for k in range(9)])
    assert _values(g[5].sources) == list(range(20, 28))


def test_default_csv_column_is_found(tmp_path):
    src = _stack(tmp_path / "run.h5")
    csv = tmp_path / "side.csv"
    csv.write_text("# acquisition log\nframe,time_s,I1\n" + "".join(f"{i},{t},5\n" for i, t in enumerate(_times())))
    g = group_frames(src, Grouping(window_s=5.0), timestamps=csv)
    assert [tp.n_frames for tp in g] == [20, 20]


def test_numbered_file_sequence(tmp_path):
    for i in range(9):
        fabio.edfimage.EdfImage(data=np.full(SHAPE, i, dtype=np.int32)).write(str(tmp_path / f"run_{i:05d}.edf"))
    g = group_frames(str(tmp_path / "run_*.edf"), Grouping(window_s=1.0), timestamps=np.arange(9) * 0.4)
    assert [tp.frames for tp in g] == [(0, 1, 2), (3, 4), (5, 6, 7), (8,)]
    assert _values(g[2].sources) == [5, 6, 7]
    assert all(len(expand_sources(list(tp.sources))) == tp.n_frames for tp in g)


def test_no_frame_is_read(tmp_path, monkeypatch):
    """Streaming: grouping reads shapes and timestamps only, never a frame."""
    src = _stack(tmp_path / "run.h5", times=_times())
    import saxs_mc.io.frames as frames_mod

    def boom(*a, **k):
        raise AssertionError("a frame was read")

    monkeypatch.setattr(frames_mod, "iter_frames", boom)
    monkeypatch.setattr(frames_mod, "read_frame", boom)
    real = h5py.Dataset.__getitem__

    def guarded(self, key):
        if self.ndim == 3:
            raise AssertionError(f"frame data of {self.name} was read")
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
    g = group_frames(src, Grouping(window_s=1.0))
    assert len(g) == 10
    stack = open_stack(src)
    assert isinstance(stack, FrameStack) and stack.frame_shape == SHAPE and stack.n_frames == N


def test_records_are_frozen_and_json_safe(tmp_path):
    src = _stack(tmp_path / "run.h5", times=_times())
    g = group_frames(src, Grouping(every=20))
    with pytest.raises(AttributeError):
        g[0].time_s = 1.0  # type: ignore[misc]
    s = json.loads(json.dumps(g.summary()))
    assert s["n_time_points"] == 2 and s["time_points"][1]["frame_range"] == [20, 40]
    assert s["time_points"][1]["frames"] is None  # contiguous: the range says it all
    assert s["grouping"]["every"] == 20
    assert "2 time points" in g.report() and "TimePoint(0" in repr(g[0])
    ax = g.plot()
    assert len(ax.lines) == 4


def test_empty_time_windows_are_an_error_naming_them(tmp_path):
    t = np.r_[_times(20), 20.0 + _times(20)]  # a 15 s gap in the acquisition
    src = _stack(tmp_path / "run.h5", times=t)
    with pytest.raises(GroupingError) as err:
        group_frames(src, Grouping(window_s=2.5))
    msg = str(err.value)
    assert "hold no frame" in msg and "[5.125, 7.625) s" in msg and "run.h5" in msg


def test_missing_timestamps_for_time_windows(tmp_path):
    src = _stack(tmp_path / "run.h5")  # no time axis
    with pytest.raises(GroupingError, match=r"window_s=2 needs per-frame timestamps.*every = N"):
        group_frames(src, Grouping(window_s=2.0))


def test_every_problem_is_listed_at_once(tmp_path):
    t = _times()
    t[[10, 30]] = t[[9, 29]]  # two repeated timestamps
    src = _stack(tmp_path / "run.h5", times=t)
    with pytest.raises(GroupingError) as err:
        group_frames(src, Grouping(every=50))
    probs = err.value.problems
    assert len(probs) == 2
    assert any("not strictly increasing: 2 step(s), first at frame 10" in p for p in probs)
    assert any("every=50 is larger than the stack (40 frames)" in p for p in probs)


def test_timestamp_length_and_nan_and_backwards_are_all_reported(tmp_path):
    src = _stack(tmp_path / "run.h5")
    t = list(_times(39))
    t[3] = float("nan")
    t[7] = 0.0
    with pytest.raises(GroupingError) as err:
        group_frames(src, Grouping(window_s=1.0), timestamps=t)
    msg = str(err.value)
    assert "39 timestamps" in msg and "40 frames" in msg
    assert "not finite at frame(s) 3" in msg and "not strictly increasing" in msg


def test_bad_settings_and_bad_sidecar(tmp_path):
    with pytest.raises(GroupingError) as err:
        Grouping(every=0, step_s=1.0)
    assert len(err.value.problems) == 2
    with pytest.raises(GroupingError, match="exactly one"):
        Grouping()
    src = _stack(tmp_path / "run.h5")
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,clock\n0,1\n")
    with pytest.raises(GroupingError, match=r"no time column one of .*'clock'"):
        group_frames(src, Grouping(window_s=1.0), timestamps=bad)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("frame,time_s\n1,0.1\n0,0.2\n")
    with pytest.raises(GroupingError, match="column 'frame' must list 0, 1, 2"):
        read_timestamps(shuffled)
    with pytest.raises(GroupingError, match="selection"):
        open_stack(src + "[0:5]")
    with pytest.raises(GroupingError, match="does not exist"):
        open_stack(tmp_path / "nope.h5")


def test_grouping_error_survives_pickling():
    import pickle

    e = GroupingError(["a", "b"], source="x.h5")
    e2 = pickle.loads(pickle.dumps(e))
    assert e2.problems == ("a", "b") and str(e2) == str(e)


def test_moving_time_windows_from_the_first_timestamp_reach_the_last_frame(tmp_path):
    """Windows counted from the first mid-exposure time: the last complete window ends one slot after it."""
    src = _stack(tmp_path / "run.h5", times=_times())  # 0.125 ... 9.875 s
    g = group_frames(src, Grouping(window_s=2.0, step_s=0.5))
    assert g[-1].frames == tuple(range(32, 40)) and all(tp.n_frames == 8 for tp in g)
    assert len(g) == 17  # starts 0.125, 0.625, ..., 8.125
    part = group_frames(src, Grouping(window_s=3.0))
    assert [tp.n_frames for tp in part] == [12, 12, 12, 4]
    assert [tp.n_frames for tp in group_frames(src, Grouping(window_s=3.0, drop_partial=True))] == [12, 12, 12]
    full = group_frames(src, Grouping(window_s=2.0, drop_partial=True))  # 2 s tiles: the last one is complete
    assert [tp.n_frames for tp in full] == [8] * 5


def test_timestamps_from_per_frame_headers(tmp_path):
    for i in range(6):
        hdr = {"Time_s": f"{0.5 * i + 0.25:.3f}"} if i != 4 else {}
        fabio.edfimage.EdfImage(data=np.full(SHAPE, i, dtype=np.int32), header=hdr).write(
            str(tmp_path / f"s_{i:03d}.edf")
        )
    with pytest.raises(GroupingError, match=r"'Time_s' is missing or not a number .*s_004.edf"):
        group_frames(str(tmp_path / "s_*.edf"), Grouping(window_s=1.0), timestamps="header:Time_s")
    (tmp_path / "s_004.edf").unlink()
    g = group_frames(str(tmp_path / "s_*.edf"), Grouping(window_s=1.0), timestamps="header:Time_s")
    assert [tp.frames for tp in g] == [(0, 1), (2, 3), (4,)]  # times 0.25, 0.75 | 1.25, 1.75 | 2.75
    # an HDF5 stack: /entry/<...header...>/<Key> as written by saxs_mc.simulate (id02_headers)
    src = _stack(tmp_path / "run.h5")
    with h5py.File(tmp_path / "run.h5", "a") as f:
        f.create_group("/entry/id02_headers")["ReactionTime_s"] = _times()
    assert len(group_frames(src, Grouping(window_s=5.0), timestamps="header:ReactionTime_s")) == 2
    with pytest.raises(GroupingError, match="no per-frame header dataset 'Clock'"):
        group_frames(src, Grouping(window_s=5.0), timestamps="header:Clock")
