"""``occstudio eval --engine ray`` on a local 2-CPU Ray instance gives the local numbers.

Ray is the optional extra ``occstudio[cluster]``: the Ray tests skip when it is not
installed. Starting a local Ray instance takes several seconds, so there is one.
"""

from __future__ import annotations

import builtins
import json

import pytest

from occstudio.builtins.evaluation import EngineError, evaluate_dataset, evaluate_occupancy_chunk, run_ray
from tests.cli.test_compute_cli import make_occ3d_set, parser, reference_miou


@pytest.mark.slow
def test_ray_engine_matches_local(tmp_path, capsys):
    pytest.importorskip("ray")
    from occstudio.builtins.compute_cli import run_compute

    gt_root, pred_root, samples = make_occ3d_set(tmp_path, n=5, seed=3)
    local = evaluate_dataset(gt_root, pred_root, engine="local", workers=1, fscore=True)
    args = parser().parse_args([
        "eval", str(gt_root), "--pred-root", str(pred_root), "--out", str(tmp_path / "ray.json"),
        "--engine", "ray", "--workers", "2", "--chunk-size", "2", "--fscore", "--json",
    ])
    assert run_compute(args) == 0
    printed = json.loads(capsys.readouterr().out)
    remote = json.loads((tmp_path / "ray.json").read_text())
    assert remote["engine"] == "ray" and remote["n_samples"] == 5
    assert printed["miou"] == pytest.approx(reference_miou(samples)[0], abs=1e-9)
    # identical numbers, sample by sample and for the set (JSON turns NaN into null)
    local_json = json.loads(json.dumps(_plain(local)))
    assert remote["totals"] == local_json["totals"]
    assert remote["samples"] == local_json["samples"]
    import ray

    assert not ray.is_initialized()  # the instance it started is shut down


def _plain(result):
    from occstudio.builtins.evaluation import jsonable

    return jsonable(result)


def test_ray_missing_is_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(EngineError, match=r"occstudio\[cluster\]"):
        run_ray(evaluate_occupancy_chunk, [[]], None)
