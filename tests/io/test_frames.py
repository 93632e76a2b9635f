"""Frame sources: fabio formats, globs, HDF5 stacks (bitshuffle-LZ4) with indices, masks, errors."""

from __future__ import annotations

import h5py
import hdf5plugin
import numpy as np
import pytest
from fabio.edfimage import EdfImage

from saxs_mc.io.frames import FrameError, expand_sources, iter_frames, read_frame, read_mask

SHAPE = (40, 50)


def _frames(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.poisson(100 + 10 * k, SHAPE).astype(np.int32) for k in range(n)]


@pytest.fixture()
def edf_folder(tmp_path):
    for k, img in enumerate(_frames()):
        EdfImage(data=img, header={"Intensity1ShutCor": str(1e9 + k), "Title": f"f{k}"}).write(
            str(tmp_path / f"s_{k:05d}.edf")
        )
    return tmp_path


_COMPRESSION = {
    "bitshuffle-lz4": lambda: dict(hdf5plugin.Bitshuffle(cname="lz4")),
    "lz4": lambda: dict(hdf5plugin.LZ4()),
    "gzip": lambda: {"compression": "gzip", "compression_opts": 4},
}


@pytest.fixture(params=list(_COMPRESSION))
def stack(tmp_path, request):
    p = tmp_path / "stack.h5"
    imgs = np.stack(_frames())
    with h5py.File(p, "w") as fh:
        det = fh.create_group("entry/instrument/detector")
        det.create_dataset("data", data=imgs, chunks=(1, *SHAPE), **_COMPRESSION[request.param]())
        det.create_dataset("distance", data=0.55)  # sibling scalar
        det["data"].attrs["units"] = "counts"
        hdr = fh.create_group("entry/id02_headers")
        hdr.create_dataset("Intensity1ShutCor", data=1e9 + np.arange(5))
        hdr.create_dataset("Title", data=np.array([f"f{k}".encode() for k in range(5)]))
        fh["entry"].create_group("data")
        fh["entry/data/data"] = h5py.SoftLink("/entry/instrument/detector/data")
    return p


def test_glob_expands_sorted_and_streams(edf_folder):
    refs = expand_sources([str(edf_folder / "s_*.edf")])
    assert [r.path.name for r in refs] == [f"s_{k:05d}.edf" for k in range(5)]
    frames = iter_frames(refs)
    first = next(frames)
    np.testing.assert_array_equal(first.data, _frames()[0])
    assert float(first.header["Intensity1ShutCor"]) == 1e9
    assert [f.header["Title"] for f in frames] == ["f1", "f2", "f3", "f4"]


def test_compressed_stack_with_indices_equals_edf(edf_folder, stack):
    ref = _frames()
    spec = f"{stack}::/entry/instrument/detector/data"
    got = list(iter_frames([spec]))
    assert len(got) == 5
    for k, f in enumerate(got):
        np.testing.assert_array_equal(f.data, ref[k])
        np.testing.assert_array_equal(f.data, read_frame(edf_folder / f"s_{k:05d}.edf").data)
        assert f.header["Intensity1ShutCor"] == 1e9 + k and f.header["Title"] == f"f{k}"
        assert f.header["distance"] == 0.55 and f.header["units"] == "counts"
    assert got[2].name == f"{spec}[2]"
    assert [f.ref.index for f in iter_frames([spec + "[1:4]"])] == [1, 2, 3]
    assert [f.ref.index for f in iter_frames([spec + "[::2]"])] == [0, 2, 4]
    assert [f.ref.index for f in iter_frames([spec + "[4,0]"])] == [4, 0]
    assert [f.ref.index for f in iter_frames([spec + "[-1]"])] == [4]
    # a bare file finds the NeXus default / /entry/data/data
    assert len(expand_sources([stack])) == 5


def test_stack_errors(stack):
    with pytest.raises(FrameError, match="dataset '/entry/nothing' not found"):
        expand_sources([f"{stack}::/entry/nothing"])
    with pytest.raises(FrameError, match="out of range for 5 frame"):
        expand_sources([f"{stack}::/entry/instrument/detector/data[7]"])
    with pytest.raises(FrameError, match="not understood"):
        expand_sources([f"{stack}::/entry/instrument/detector/data[a:b]"])
    with pytest.raises(FrameError, match="need a 2D frame or a 3D stack"):
        expand_sources([f"{stack}::/entry/instrument/detector/distance"])
    bad = stack.with_name("trunc.h5")
    bad.write_bytes(stack.read_bytes()[:2000])
    with pytest.raises(FrameError, match="not a readable HDF5 file"):
        expand_sources([bad])


def test_multiframe_edf(tmp_path):
    imgs = _frames(3)
    e = EdfImage(data=imgs[0], header={"k": "0"})
    for k in (1, 2):
        e.append_frame(data=imgs[k], header={"k": str(k)})
    p = tmp_path / "multi.edf"
    e.write(str(p))
    got = list(iter_frames([p]))
    assert len(got) == 3
    for k in range(3):
        np.testing.assert_array_equal(got[k].data, imgs[k])
        assert got[k].header["k"] == str(k)
    assert [f.ref.index for f in iter_frames([f"{p}::[1:]"])] == [1, 2]


def test_other_fabio_formats(tmp_path):
    from fabio.tifimage import TifImage

    img = _frames(1)[0]
    TifImage(data=img).write(str(tmp_path / "f.tif"))
    np.testing.assert_array_equal(read_frame(tmp_path / "f.tif").data, img)


def test_masks(tmp_path):
    m = np.zeros(SHAPE, np.uint8)
    m[3:5, 7] = 1
    np.save(tmp_path / "m.npy", m)
    EdfImage(data=m).write(str(tmp_path / "m.edf"))
    from fabio.tifimage import TifImage

    TifImage(data=m).write(str(tmp_path / "m.tif"))
    from fabio.fit2dmaskimage import Fit2dMaskImage

    Fit2dMaskImage(data=m).write(str(tmp_path / "m.msk"))
    for name in ("m.npy", "m.edf", "m.tif", "m.msk"):
        got = read_mask(tmp_path / name, shape=SHAPE)
        assert got.dtype == bool and got.sum() == 2 and got[3, 7]
    with pytest.raises(FrameError, match=r"mask shape \(40, 50\) differs from the detector shape \(10, 10\)"):
        read_mask(tmp_path / "m.edf", shape=(10, 10))
    with pytest.raises(FrameError, match="does not exist"):
        read_mask(tmp_path / "nope.npy")


def test_bad_sources(tmp_path):
    with pytest.raises(FrameError, match="does not exist"):
        expand_sources([tmp_path / "x.edf"])
    with pytest.raises(FrameError, match="matches no file"):
        expand_sources([str(tmp_path / "*.edf")])
    with pytest.raises(TypeError, match="frame source 3"):
        expand_sources([3])  # type: ignore[list-item]
    p = tmp_path / "a.edf"
    EdfImage(data=_frames(1)[0]).write(str(p))
    with pytest.raises(FrameError, match="needs an HDF5 file"):
        expand_sources([f"{p}::/entry/data"])
    raw = p.read_bytes()
    t = tmp_path / "t.edf"
    t.write_bytes(raw[: len(raw) - 100])
    with pytest.raises(FrameError, match="truncated"):
        read_frame(t)


def test_frame_error_pickles():
    import pickle

    e = pickle.loads(pickle.dumps(FrameError("a.edf", "truncated")))
    assert isinstance(e, FrameError) and str(e) == "a.edf: truncated" and e.source == "a.edf"


def _multipage_tiff(path, images):
    """A multi-page TIFF written with fabio's TiffIO (first page creates, later pages append)."""
    from fabio.TiffIO import TiffIO

    for k, img in enumerate(images):
        t = TiffIO(str(path), mode="wb+" if k == 0 else "rb+")
        try:
            t.writeImage(np.ascontiguousarray(img, dtype=np.uint16), info={"Title": f"page{k}"})
        finally:
            t.close()
    return path


def test_multipage_tiff_yields_every_frame_in_order(tmp_path):
    imgs = _frames(3, seed=4)
    p = _multipage_tiff(tmp_path / "stack.tif", imgs)
    refs = expand_sources([str(p)])
    assert [r.index for r in refs] == [0, 1, 2]
    assert refs[2].name.endswith("stack.tif[2]")
    got = [f.data for f in iter_frames(refs)]
    assert len(got) == 3
    for a, b in zip(got, imgs):
        np.testing.assert_array_equal(a, b)
    # one page addressed by index
    (only,) = expand_sources([f"{p}::[1]"])
    np.testing.assert_array_equal(read_frame(only).data, imgs[1])


def test_single_page_tiff_is_one_frame(tmp_path):
    (img,) = _frames(1, seed=5)
    p = _multipage_tiff(tmp_path / "one.tif", [img])
    refs = expand_sources([str(p)])
    assert len(refs) == 1 and refs[0].name == str(p)
    np.testing.assert_array_equal(read_frame(refs[0]).data, img)


def test_multiframe_edf_plain_and_gzipped(tmp_path):
    import gzip
    import shutil

    imgs = _frames(2, seed=6)
    e = EdfImage(data=imgs[0], header={"Title": "a"})
    e.append_frame(data=imgs[1], header={"Title": "b"})
    p = tmp_path / "m.edf"
    e.write(str(p))
    with open(p, "rb") as fi, gzip.open(tmp_path / "m.edf.gz", "wb") as fo:
        shutil.copyfileobj(fi, fo)
    for src in (p, tmp_path / "m.edf.gz"):
        frames = list(iter_frames(expand_sources([str(src)])))
        assert [f.header["Title"] for f in frames] == ["a", "b"]
        for f, img in zip(frames, imgs):
            np.testing.assert_array_equal(f.data, img)


# ----------------------------------------------------------------------
# issue 9 item 7: HDF5 slices beyond the stack are errors; NXdata groups lead to their signal
def _two_frame_stack(tmp_path):
    p = tmp_path / "two.h5"
    with h5py.File(p, "w") as fh:
        grp = fh.create_group("entry/data")
        grp.attrs["NX_class"] = "NXdata"
        grp.attrs["signal"] = "data"
        grp.create_dataset("data", data=np.stack(_frames(2)))
    return p


@pytest.mark.parametrize("sel", ["[0:5]", "[3:]", "[-5:]", "[0:2:1]"])
def test_out_of_range_slice_is_an_error(tmp_path, sel):
    p = _two_frame_stack(tmp_path)
    if sel == "[0:2:1]":  # in range: both frames
        assert len(expand_sources([f"{p}::/entry/data/data{sel}"])) == 2
        return
    with pytest.raises(FrameError, match=r"out of range for 2 frame\(s\)"):
        expand_sources([f"{p}::/entry/data/data{sel}"])


def test_nxdata_group_is_followed_to_its_signal(tmp_path):
    p = _two_frame_stack(tmp_path)
    refs = expand_sources([f"{p}::/entry/data[1]"])
    assert [r.dataset for r in refs] == ["/entry/data/data"] and refs[0].index == 1
    np.testing.assert_array_equal(read_frame(refs[0]).data, _frames(2)[1])


@pytest.mark.parametrize(
    "text, value",
    [
        ("10.0000000 s", 10.0),
        ("1080457 counts", 1080457.0),
        ("1.54987 A", 1.54987e-10),
        ("0.55", 0.55),
        ("12 ms", 0.012),
        (3, 3.0),
        ("1031.657 mm", 1.031657),
    ],
)
def test_header_numbers_with_units(text, value):
    from saxs_mc.io.frames import header_number

    assert header_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["fast", "10 parsecs", "", "1.0 s s"])
def test_header_number_refuses_non_numbers(text):
    from saxs_mc.io.frames import header_number

    with pytest.raises(ValueError, match="not a number with a known unit"):
        header_number(text)
