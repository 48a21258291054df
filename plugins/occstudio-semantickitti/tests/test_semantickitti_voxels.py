"""Reading, writing and opening SemanticKITTI voxel files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from occstudio.core.errors import DataError, MissingFileError

from occstudio_semantickitti.labels import CLASS_NAMES, LEARNING_MAP, PALETTE, SEMANTICKITTI, to_learning_ids
from occstudio_semantickitti.voxels import (
    GRID_SHAPE,
    LABEL_BYTES,
    PACKED_BYTES,
    open_voxels,
    read_labels,
    read_mask,
    read_packed,
    read_voxels,
    sniff,
    write_frame,
)

from kitti_frames import make_frame


def test_grid_constants():
    assert GRID_SHAPE == (256, 256, 32) and PACKED_BYTES == 262144 and LABEL_BYTES == 4194304
    from occstudio_semantickitti.voxels import GRID

    assert GRID.shape == (256, 256, 32)
    assert np.allclose(GRID.voxel_size, 0.2) and np.allclose(GRID.origin, (0.0, -25.6, -2.0))


def test_packed_bit_order_is_numpy_packbits_x_y_z(tmp_path):
    occ = np.zeros(GRID_SHAPE, dtype=bool)
    occ[0, 0, 0] = True  # first bit of the file (most significant bit of byte 0)
    occ[0, 0, 31] = True  # last bit of the first 4-byte z column
    occ[0, 1, 0] = True  # next column starts at byte 4
    occ[1, 0, 0] = True  # next x row starts at byte 256*4
    path = write_frame(tmp_path, "000000", occ)
    raw = np.fromfile(path, dtype=np.uint8)
    assert raw.size == PACKED_BYTES
    assert raw[0] == 0x80 and raw[3] == 0x01 and raw[4] == 0x80 and raw[1024] == 0x80
    assert np.count_nonzero(raw) == 4
    assert np.array_equal(read_packed(path), occ)


def test_round_trip_of_a_frame(tmp_path):
    f = make_frame(3)
    write_frame(tmp_path, "000010", f["occupancy"], f["labels"], f["invalid"], occluded=~f["invalid"])
    ds = open_voxels(tmp_path / "000010.bin")
    sample = ds.samples[0]
    occ, labels = read_voxels(sample)
    assert occ.dtype == bool and occ.shape == GRID_SHAPE and np.array_equal(occ, f["occupancy"])
    assert labels.dtype == np.uint16 and np.array_equal(labels, f["labels"])
    assert np.array_equal(read_mask(sample, "invalid"), f["invalid"])
    assert np.array_equal(read_mask(sample, "occluded"), ~f["invalid"])


def test_raw_ids_are_mapped_to_learning_ids(tmp_path):
    raw = np.zeros(GRID_SHAPE, dtype=np.uint16)
    raw[0, 0, :3] = (40, 10, 252)  # road, car, moving-car
    raw[1, 0, 0] = 60  # lane-marking -> road
    path = tmp_path / "f.label"
    write_frame(tmp_path, "f", np.zeros(GRID_SHAPE, bool), raw)
    labels = read_labels(path)  # auto: values above 19 -> raw
    assert labels[0, 0, :3].tolist() == [9, 1, 1] and labels[1, 0, 0] == 9
    assert read_labels(path, ids="raw")[0, 0, 0] == 9
    with pytest.raises(DataError, match="learning ids must be 0..19"):
        read_labels(path, ids="learning")


def test_learning_ids_read_as_raw_when_asked(tmp_path):
    lab = np.zeros(GRID_SHAPE, dtype=np.uint16)
    lab[0, 0, 0] = 10  # raw 10 is car; as a learning id it would be parking
    write_frame(tmp_path, "f", np.zeros(GRID_SHAPE, bool), lab)
    assert read_labels(tmp_path / "f.label")[0, 0, 0] == 10
    assert read_labels(tmp_path / "f.label", ids="raw")[0, 0, 0] == 1


def test_unknown_raw_ids_are_a_data_error(tmp_path):
    lab = np.zeros(GRID_SHAPE, dtype=np.uint16)
    lab[0, 0, 0], lab[0, 0, 1] = 40, 1234
    write_frame(tmp_path, "f", np.zeros(GRID_SHAPE, bool), lab)
    with pytest.raises(DataError, match="not in the learning map: 1234") as err:
        read_labels(tmp_path / "f.label")
    assert err.value.path == tmp_path / "f.label"


def test_wrong_sizes_name_the_file_and_the_expected_size(tmp_path):
    folder = tmp_path / "voxels"
    folder.mkdir()
    (folder / "000000.bin").write_bytes(b"\x00" * 100)
    (folder / "000000.label").write_bytes(b"\x00" * 1001)
    (folder / "000000.invalid").write_bytes(b"\x00" * PACKED_BYTES)
    ds = open_voxels(tmp_path)
    sample = ds.samples[0]
    assert len(sample.errors) == 2
    assert "000000.bin: 100 bytes, expected 262144" in sample.errors[0]
    assert "000000.label: 1001 bytes, expected 4194304" in sample.errors[1]
    with pytest.raises(DataError, match=r"100 bytes; a SemanticKITTI voxel file .* 262144 bytes") as err:
        read_voxels(sample)
    assert err.value.path.name == "000000.bin"
    with pytest.raises(DataError, match="1001 bytes"):
        read_labels(folder / "000000.label")


def test_missing_files(tmp_path):
    with pytest.raises(MissingFileError):
        open_voxels(tmp_path / "nope")
    (tmp_path / "000001.label").write_bytes(b"")
    with pytest.raises(MissingFileError, match="000001.bin"):
        open_voxels(tmp_path / "000001.label")
    with pytest.raises(DataError, match="voxels/<frame>.bin"):
        open_voxels(tmp_path)
    from occstudio.core.sample import Sample

    with pytest.raises(DataError, match="no SemanticKITTI .bin"):
        read_voxels(Sample(id="x"))


def test_open_sequence_folder(kitti_sequence):
    (kitti_sequence / "voxels" / "000099.label").write_bytes(b"")
    ds = open_voxels(kitti_sequence)
    assert ds.format == "semantickitti" and ds.ids() == ["000000", "000005"]
    first, second = ds.samples
    assert set(first.paths) == {"bin", "label", "invalid"} and set(second.paths) == {"bin"}
    assert first.meta["frame"] == 0 and second.meta["frame"] == 5
    assert first.meta["voxel_size"] == 0.2
    assert first.meta["point_range"] == (0.0, -25.6, -2.0, 51.2, 25.6, 4.4)
    assert first.meta["grid_shape"] == (256, 256, 32)
    assert not first.has_problems and not second.has_problems
    assert ds.meta["labelset"] == "semantickitti" and ds.meta["sequence"] == "08"
    assert any("000099.label" in w for w in ds.warnings)
    assert read_voxels(second)[1] is None
    assert [s.id for s in open_voxels(kitti_sequence / "voxels").samples] == ["000000", "000005"]


def test_open_reports_progress_and_honours_cancel(kitti_sequence):
    from occstudio.core.jobs import Cancelled, RecordingProgress

    rec = RecordingProgress()
    open_voxels(kitti_sequence, progress=rec)
    assert rec.done == 2
    with pytest.raises(Cancelled):
        open_voxels(kitti_sequence, progress=RecordingProgress(cancel_after=1))


def test_sniff(kitti_sequence, tmp_path):
    voxels = kitti_sequence / "voxels"
    assert sniff(kitti_sequence) == 0.9
    assert sniff(voxels) == 0.9
    assert sniff(voxels / "000000.bin") == 0.95
    assert sniff(voxels / "000000.label") == 0.95
    assert sniff(voxels / "000005.bin") == 0.0  # no .label beside it: a plain .bin point cloud
    assert sniff(tmp_path) == 0.0  # a folder holding a sequence is not itself one
    assert sniff(tmp_path / "missing") == 0.0
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "a.bin").write_bytes(b"\x00" * 16)
    (odd / "a.label").write_bytes(b"")
    assert sniff(odd / "a.bin") == 0.0  # wrong size: probably KITTI points
    assert sniff(Path("\x00bad")) == 0.0


def test_class_table_and_palette():
    assert len(CLASS_NAMES) == 20 and len(PALETTE) == 20
    assert CLASS_NAMES[0] == "unlabeled" and CLASS_NAMES[19] == "traffic-sign"
    assert set(LEARNING_MAP.values()) == set(range(20))
    assert SEMANTICKITTI.color_of(1) == (100, 150, 245, 255)
    assert SEMANTICKITTI.color_of(0)[3] == 0 and not SEMANTICKITTI.is_drawn(255)
    mapped, unknown = to_learning_ids(np.array([0, 44, 71, 7], dtype=np.uint16))
    assert mapped.tolist() == [0, 10, 16, 255] and unknown == [7]
