"""SampleView: composing a sample's panes, placeholders for missing files, state."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel

from occstudio.gui.panes.sample_view import SampleView, missing_placeholder, missing_target


def _img(h: int = 48, w: int = 64, c: int = 3, value: int = 120) -> np.ndarray:
    return np.full((h, w, c), value, np.uint8)


def _content(**overrides):
    mask = np.zeros((48, 64), bool)
    mask[10:20, 10:30] = True
    content = {
        "id": "scene01/view0",
        "image": _img(),
        "mask": mask,
        "obs_object_image": _img(c=4),
        "prior_images": [("p0.png", _img(32, 32)), ("p1.png", _img(20, 40))],
        "prior_text": "a wooden chair",
        "gt_images": [(f"view_{i:04d}.png", _img(24, 24)) for i in range(4)],
        "missing": [],
    }
    content.update(overrides)
    return content


def test_missing_messages_map_to_panes():
    assert missing_target("image: assets/a/rendered_scene.png") == "image"
    assert missing_target("mask: assets/a/occluded_mask.png") == "mask"
    assert missing_target("obs_object_image: assets/a/rendered.png") == "object"
    assert missing_target("gt_render_dir: gt_assets/abc") == "gt"
    assert missing_target("assets/a/occluded_mask.png") == "mask"
    assert missing_target("gt_mesh: gt_assets/abc/mesh.ply") is None
    assert missing_placeholder("image: assets/x.png") == "missing: assets/x.png"
    assert missing_placeholder("assets/x.png") == "missing: assets/x.png"
    assert missing_placeholder("gt_images: no images in gt_assets/x") == "no images in gt_assets/x"
    assert missing_target("gt_images: no images in gt_assets/x") == "gt"


def test_set_content_fills_every_pane(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    view.set_content(_content())
    assert view.content_id() == "scene01/view0"
    assert view.id_label.text() == "scene01/view0"
    assert view.scene_pane.has_image() and view.scene_pane.mask().sum() == 200
    assert view.object_pane.has_image()
    assert not view.object_pane.controls.isVisibleTo(view)
    assert view.priors_strip.count() == 2 and view.gt_strip.count() == 4
    assert view.prior_text_edit.text() == "a wooden chair"
    assert view.prior_text_edit.isReadOnly()
    assert not view.problems_label.isVisibleTo(view)


def test_missing_files_show_placeholders(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    content = _content(
        image=None,
        mask=None,
        obs_object_image=None,
        gt_images=[],
        prior_images=[("p0.png", _img()), ("p1.png", None)],
        missing=[
            "image: assets/s1/rendered_scene.png",
            "mask: assets/s1/occluded_mask.png",
            "obs_object_image: assets/s1/rendered.png",
            "gt_render_dir: gt_assets/abc",
            "prior_images: priors/s1/p1.png",
        ],
    )
    view.set_content(content)
    assert view.scene_pane.placeholder_text() == "missing: assets/s1/rendered_scene.png"
    assert view.object_pane.placeholder_text() == "missing: assets/s1/rendered.png"
    assert view.gt_strip.placeholder_text() == "missing: gt_assets/abc"
    assert view.priors_strip.count() == 2 and view.priors_strip.is_missing(1)
    assert view.scene_pane.note() == "mask missing"
    assert view.problems_label.isVisibleTo(view)
    assert "5 problems" in view.problems_label.text()
    # a complete sample afterwards clears everything
    view.set_content(_content())
    assert view.scene_pane.has_image() and view.scene_pane.note() == ""
    assert not view.problems_label.isVisibleTo(view)
    view.clear()
    assert view.scene_pane.placeholder_text() == "No sample"
    assert view.gt_strip.count() == 0 and view.content_id() == ""


def test_unmatched_absent_images_get_default_placeholders(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    view.set_content({"id": "x"})
    assert view.scene_pane.placeholder_text() == "No scene image"
    assert view.object_pane.placeholder_text() == "No visible-object image"
    assert view.priors_strip.placeholder_text() == "No prior images"


def test_side_widget_and_state_round_trip(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    assert not view.side_container.isVisible()
    side = QLabel("3D")
    assert view.set_side_widget(side) is None
    assert view.side_container.isVisible() and side.parent() is view.side_container
    view.splitter.setSizes([900, 300])
    sizes = view.splitter.sizes()
    state = view.save_state()
    assert isinstance(state, bytes)
    view.splitter.setSizes([300, 900])
    assert view.restore_state(state)
    restored = view.splitter.sizes()  # (the handle width may shift a few pixels)
    assert abs(restored[0] / sum(restored) - sizes[0] / sum(sizes)) < 0.01
    assert not view.restore_state(b"garbage")
    assert view.set_side_widget(None) is side
    assert not view.side_container.isVisible()
    side.deleteLater()


def test_strips_a_format_does_not_have_are_hidden(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    view.set_content(_content())
    before = view.left_splitter.sizes()
    # an occupancy sample: no prior images or GT renders at all (None), only a caption
    view.set_content(_content(prior_images=None, gt_images=None, prior_text="a caption"))
    assert not view.priors_strip.isVisibleTo(view) and not view.gt_strip.isVisibleTo(view)
    assert view.prior_text_edit.text() == "a caption"
    assert view.left_splitter.sizes()[0] > before[0]  # the images above get the room
    # an empty list is "none for this sample": the strip stays, with its placeholder
    view.set_content(_content(prior_images=[], gt_images=[]))
    assert view.priors_strip.isVisibleTo(view) and view.gt_strip.isVisibleTo(view)


def test_strips_shown_again_get_their_room_back(qtbot):
    view = SampleView()
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    view.set_content(_content())
    view.set_content(_content(prior_images=None, gt_images=None))
    view.set_content(_content())  # an ExtremeOcc-3D sample after an occupancy one
    sizes = view.left_splitter.sizes()
    assert sizes[1] > 0 and sizes[2] > 0, sizes
    assert sizes[2] >= view.gt_strip.minimumSizeHint().height()
