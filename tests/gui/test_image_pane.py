"""ImagePane, ImageStrip and the numpy <-> QImage helpers."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.gui.panes.image_pane import (
    ImagePane,
    checkerboard,
    mask_boundary,
    mask_to_bool,
)
from occstudio.gui.panes.image_strip import ImageStrip
from occstudio.gui.qimage import array_to_qimage, qimage_to_array


def _image(h: int = 48, w: int = 64, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)


def _mask(h: int = 48, w: int = 64) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:30, 20:50] = True
    return m


# -- qimage --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 3), (48, 64, 4)])
def test_qimage_round_trip_uint8(qapp, shape):
    a = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    img = array_to_qimage(a)
    assert (img.width(), img.height()) == (64, 48)
    back = qimage_to_array(img)
    assert back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_qimage_owns_a_copy_and_handles_strided_arrays(qapp):
    a = _image(40, 60)
    view = a[:, ::2]  # not contiguous
    img = array_to_qimage(view)
    expected = view.copy()
    a[:] = 0  # the QImage must not see this
    np.testing.assert_array_equal(qimage_to_array(img), expected)


def test_qimage_uint16_is_scaled_to_full_range(qapp):
    depth = np.zeros((10, 12), np.uint16)
    depth[5, 6] = 4000
    depth[0, 0] = 2000
    out = qimage_to_array(array_to_qimage(depth))
    assert out.dtype == np.uint8
    assert out[5, 6] == 255 and out[0, 0] == 128 and out[9, 9] == 0


def test_qimage_rejects_non_images(qapp):
    with pytest.raises(ValueError, match="not an image"):
        array_to_qimage(np.zeros((4, 4, 7), np.uint8))


# -- numpy helpers ---------------------------------------------------------------------
def test_mask_to_bool_uses_last_channel_and_resizes():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere, alpha only top-left
    rgba[:2, :2, 3] = 255
    m = mask_to_bool(rgba)
    assert m.sum() == 4 and m[:2, :2].all()
    big = mask_to_bool(rgba, (8, 8))
    assert big.shape == (8, 8) and big.sum() == 16 and big[:4, :4].all()


def test_mask_boundary_is_the_inner_outline():
    m = np.zeros((10, 10), bool)
    m[2:8, 2:8] = True  # 6x6 square
    b1 = mask_boundary(m, 1)
    assert b1.sum() == 6 * 6 - 4 * 4
    assert not (b1 & ~m).any()
    assert not b1[3:7, 3:7].any()
    b2 = mask_boundary(m, 2)
    assert b2.sum() == 6 * 6 - 2 * 2


# -- ImagePane -------------------------------------------------------------------------
def test_pane_shows_image_and_placeholder(qtbot):
    pane = ImagePane("Scene")
    qtbot.addWidget(pane)
    assert not pane.has_image() and pane.placeholder_text() == "No image"
    img = _image()
    pane.set_image(img)
    assert pane.has_image()
    assert pane.title() == "Scene"
    assert pane.image_item.pixmap().width() == 64 and pane.image_item.pixmap().height() == 48
    np.testing.assert_array_equal(pane.rendered_overlay(), img)  # no mask yet
    pane.set_image(None, "missing: assets/x.png")
    assert not pane.has_image()
    assert pane.placeholder_text() == "missing: assets/x.png"
    assert pane.rendered_overlay().shape == (0, 0, 3)


def test_pane_reports_unusable_arrays_as_placeholder(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    pane.set_image(np.zeros((5, 5, 9), np.uint8))
    assert not pane.has_image()
    assert "Cannot display image" in pane.placeholder_text()


def test_rgba_is_composited_over_checkerboard(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    rgba = _image(channels=4)
    rgba[..., 3] = 0
    rgba[:, :10, 3] = 255
    pane.set_image(rgba)
    out = pane.rendered_overlay()
    np.testing.assert_array_equal(out[:, :10], rgba[:, :10, :3])
    np.testing.assert_array_equal(out[:, 10:], checkerboard(48, 64)[:, 10:])


def test_opacity_changes_pixels_under_mask_only(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    img, mask = _image(), _mask()
    pane.set_image(img)
    pane.set_mask(mask)
    pane.set_overlay_color((255, 0, 0))
    with qtbot.waitSignal(pane.overlay_changed):
        pane.set_overlay_opacity(0.2)
    low = pane.rendered_overlay().astype(int)
    pane.set_overlay_opacity(0.9)
    assert pane.overlay_opacity() == pytest.approx(0.9)
    assert pane.opacity_slider.value() == 90
    high = pane.rendered_overlay().astype(int)
    changed = (low != high).any(axis=2)
    assert changed[mask].mean() > 0.95  # (pixels already pure red may not change)
    assert not changed[~mask].any()
    np.testing.assert_array_equal(high[~mask], img[~mask])
    # towards red under the mask
    assert high[mask][:, 0].mean() > low[mask][:, 0].mean()
    assert high[mask][:, 1].mean() < low[mask][:, 1].mean()


def test_opacity_slider_drives_the_pane(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    with qtbot.waitSignal(pane.overlay_changed):
        pane.opacity_slider.setValue(30)
    assert pane.overlay_opacity() == pytest.approx(0.3)
    assert pane.opacity_label.text() == "30%"


def test_contour_mode_touches_only_boundary(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    img, mask = _image(), _mask()
    pane.set_image(img)
    pane.set_mask(mask)
    pane.set_overlay_opacity(1.0)
    pane.set_overlay_color("#00ff00")
    with qtbot.waitSignal(pane.overlay_changed):
        pane.set_overlay_mode("contour")
    assert pane.mode_combo.currentData() == "contour"
    out = pane.rendered_overlay()
    changed = (out != img).any(axis=2)
    boundary = mask_boundary(mask, pane.contour_width())
    assert changed.any()
    assert not (changed & ~boundary).any()
    assert (out[boundary] == [0, 255, 0]).all()
    pane.set_contour_width(1)
    thin = (pane.rendered_overlay() != img).any(axis=2)
    assert thin.sum() < changed.sum()
    with pytest.raises(ValueError):
        pane.set_overlay_mode("sparkles")


def test_hide_overlay_restores_original(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    img = _image()
    pane.set_image(img)
    pane.set_mask(_mask())
    assert (pane.rendered_overlay() != img).any()
    assert pane.overlay_item.isVisible()
    with qtbot.waitSignal(pane.overlay_changed):
        pane.show_check.setChecked(False)  # the checkbox drives the pane
    assert not pane.overlay_visible()
    assert not pane.overlay_item.isVisible()
    np.testing.assert_array_equal(pane.rendered_overlay(), img)
    pane.set_overlay_visible(True)
    assert pane.show_check.isChecked()
    pane.set_mask(None)
    np.testing.assert_array_equal(pane.rendered_overlay(), img)


def test_mask_is_resized_to_image_and_settings_round_trip(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    pane.set_mask(np.ones((12, 16), np.uint8) * 255)  # before the image: kept
    pane.set_image(_image())
    assert pane.mask().shape == (48, 64) and pane.mask().all()
    other = ImagePane()
    qtbot.addWidget(other)
    pane.set_overlay_mode("contour")
    pane.set_overlay_color((1, 2, 3))
    pane.set_overlay_opacity(0.25)
    with qtbot.waitSignal(other.overlay_changed):
        other.set_overlay_settings(pane.overlay_settings())
    assert other.overlay_settings() == pane.overlay_settings()


def test_controls_flag_and_tooltips(qtbot):
    plain = ImagePane("Object", controls=False)
    full = ImagePane("Scene")
    qtbot.addWidget(plain)
    qtbot.addWidget(full)
    plain.show()
    full.show()
    assert not plain.controls.isVisible()
    assert full.controls.isVisible()
    for w in (full.show_check, full.mode_combo, full.color_button, full.opacity_slider,
              full.view):
        assert w.toolTip()


def test_wheel_zoom_and_double_click_fit(qtbot):
    pane = ImagePane()
    qtbot.addWidget(pane)
    pane.resize(400, 300)
    pane.show()
    qtbot.waitExposed(pane)
    pane.set_image(_image())
    fit = pane.view.zoom()
    assert fit > 1  # a 64×48 image fills a ~400×270 view
    pane.view.set_zoom(2.0)
    assert pane.view.zoom() == pytest.approx(2 * fit)
    assert not pane.view.auto_fit
    pane.view.fit()
    assert pane.view.zoom() == pytest.approx(fit)


# -- ImageStrip ------------------------------------------------------------------------
def test_strip_shows_thumbnails_and_missing_tile(qtbot):
    strip = ImageStrip("Priors", thumb_height=40)
    qtbot.addWidget(strip)
    strip.popup_on_click = False
    items = [("a.png", _image()), ("b.png", None), ("c.png", _image(channels=4))]
    strip.set_images(items)
    assert strip.count() == 3
    assert [strip.is_missing(i) for i in range(3)] == [False, True, False]
    assert strip.tiles[0].image_label.pixmap().height() == 40
    assert strip.tiles[1].image_label.text() == "missing"
    assert "b.png" in strip.tiles[1].toolTip()
    assert "a.png" in strip.tiles[0].toolTip()
    assert strip.captions() == ["a.png", "b.png", "c.png"]
    strip.set_images([], "missing: priors/x")
    assert strip.count() == 0
    assert strip.placeholder_text() == "missing: priors/x"


def test_strip_click_emits_and_opens_popup(qtbot):
    from PySide6.QtCore import Qt

    strip = ImageStrip(thumb_height=32)
    qtbot.addWidget(strip)
    strip.set_images([("a.png", _image()), ("b.png", _image(30, 20))])
    strip.show()
    qtbot.waitExposed(strip)
    with qtbot.waitSignal(strip.image_clicked) as blocker:
        qtbot.mouseClick(strip.tiles[1], Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    assert strip.popup is not None and strip.popup.isVisible()
    assert strip.popup.pane.image().shape[:2] == (30, 20)
    strip.popup.show_index(0)
    assert strip.popup.pane.image().shape[:2] == (48, 64)
    strip.popup.close()


def test_strip_thumbnail_height_is_configurable(qtbot):
    strip = ImageStrip()
    qtbot.addWidget(strip)
    assert strip.thumbnail_height() == 128
    strip.set_images([("a", _image())])
    strip.set_thumbnail_height(64)
    assert strip.tiles[0].image_label.pixmap().height() == 64
