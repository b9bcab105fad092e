"""`netwright evaluate` end to end: cnn_digits trained, then evaluated; the numbers agree
with each other and with --predictions; bad input gives one clear line."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from training_docs import chain

from graph_compiler import document
from graph_compiler.cli import main
from graph_compiler.document import from_dict
from graph_compiler.examples import example_path

REPO = Path(__file__).resolve().parent.parent
CNN = example_path("cnn_digits")
MLP = example_path("mlp_digits")
SECTIONS = ("summary", "calibration", "robustness", "attribution", "units", "ood")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cnn") / "run"
    assert main(["train", str(CNN), "--epochs", "3", "--device", "cpu", "--save", str(run), "--quiet"]) == 0
    return run


def _hand_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Guo et al.'s ECE with [lo, hi) bins (a confidence of exactly 1.0 on its own)."""
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    index = np.minimum(np.floor(conf * n_bins).astype(int), n_bins)
    return float(sum(abs(correct[index == b].mean() - conf[index == b].mean()) * (index == b).mean()
                     for b in range(n_bins + 1) if (index == b).any()))


def _check_consistent(report: dict, preds: np.lib.npyio.NpzFile, html: str) -> None:
    cal = report["calibration"]
    probs, labels = preds["probabilities"], preds["labels"]
    assert probs.shape == (report["n"], 10) and labels.shape == (report["n"],)
    assert np.array_equal(preds["predictions"], probs.argmax(axis=1))
    assert (preds["predictions"] == labels).mean() == pytest.approx(report["accuracy"])
    assert _hand_ece(probs, labels) == pytest.approx(cal["before"]["ece"], abs=1e-6)
    assert _hand_ece(preds["probabilities_calibrated"], labels) == pytest.approx(cal["after"]["ece"], abs=1e-6)
    assert float(preds["temperature"]) == pytest.approx(cal["temperature"])
    assert cal["after"]["nll"] <= cal["before"]["nll"]
    rob = report["robustness"]
    assert rob["curve"][0]["eps"] == 0 and rob["curve"][0]["fgsm_accuracy"] == pytest.approx(report["accuracy"])
    assert rob["curve"][0]["pgd_accuracy"] == pytest.approx(report["accuracy"])
    for row in rob["curve"]:
        assert row["pgd_accuracy"] <= row["fgsm_accuracy"]
    assert rob["curve"][-1]["pgd_accuracy"] < report["accuracy"]
    att = report["attribution"]
    assert att["completeness_ok"] and att["max_completeness_gap_relative"] <= 0.01
    assert np.asarray(att["samples"][0]["integrated_gradients"]).shape == (8, 8)
    inverted = next(r for r in report["ood"]["shifts"] if r["shift"] == "inverted")
    assert inverted["auroc"]["msp"] > 0.5 and inverted["auroc"]["energy"] > 0.5
    names = [r["node"] for r in report["units"]["nodes"]]
    assert {"relu1", "relu2"} <= set(names)
    for section in SECTIONS:
        assert f"id='{section}'" in html
    assert "page-break-before" in html  # each section on its own page in print
    assert set(report["timings_s"]) == set(SECTIONS) - {"summary"}
    assert {"logits", "classes", "temperature"} <= set(preds.files) and preds["logits"].shape == probs.shape
    assert html.count("data:image/png;base64,") >= 6 and "<script" not in html and "http" not in html


def test_evaluate_cnn_digits_end_to_end(cnn_run, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["evaluate", str(CNN), "--weights", str(cnn_run), "--json", f"{out}.json", "--report", f"{out}.html",
               "--predictions", f"{out}.npz", "--eps", "0,0.1,0.3", "--pgd-steps", "5"])
    assert rc == 0
    text = capsys.readouterr().out
    for word in ("accuracy", "ECE", "after temperature scaling", "PGD-5", "worst: relu", "inverted"):
        assert word in text
    report = json.loads(Path(f"{out}.json").read_text())
    assert report["split"] == "validation" and report["n"] == 359  # 20% of 1797, as training split it
    _check_consistent(report, np.load(f"{out}.npz"), Path(f"{out}.html").read_text())


def test_evaluate_on_the_train_split_and_a_dataset_spec(cnn_run, tmp_path, capsys):
    rc = main(["evaluate", str(CNN), "--weights", str(cnn_run), "--split", "train", "--what", "calibration",
               "--json", str(tmp_path / "t.json")])
    assert rc == 0
    rep = json.loads((tmp_path / "t.json").read_text())
    assert rep["split"] == "train" and rep["n"] == 1797 - 359 and set(rep) >= {"calibration"}
    assert "robustness" not in rep
    rc = main(["evaluate", str(CNN), "--weights", str(cnn_run), "--what", "attribution", "--samples", "0,7",
               "--class", "3", "--json", str(tmp_path / "a.json"), "--quiet"])
    assert rc == 0
    att = json.loads((tmp_path / "a.json").read_text())["attribution"]
    assert [s["index"] for s in att["samples"]] == [0, 7] and {s["target_name"] for s in att["samples"]} == {"3"}
    rc = main(["evaluate", "--weights", str(cnn_run), "--split", '{"name": "digits", "n": 200}', "--what", "units,ood",
               "--unfamiliar", '{"name": "digits", "n": 100, "seed": 3}', "--json", str(tmp_path / "d.json"), "--quiet"])
    assert rc == 0
    rep = json.loads((tmp_path / "d.json").read_text())
    assert rep["split"] == "digits" and rep["n"] == 200 and rep["units"]["applies"]
    own = rep["ood"]["shifts"][-1]  # the user's "unfamiliar" data: more digits, so hardly told apart
    assert own["shift"] == "digits" and own["n"] == 100 and 0.3 < own["auroc"]["msp"] < 0.7


def test_save_temperature_goes_into_run_json(cnn_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cnn_run, run)
    assert main(["evaluate", "--weights", str(run), "--what", "calibration", "--save-temperature", "--quiet",
                 "--json", str(tmp_path / "c.json")]) == 0
    t = json.loads((tmp_path / "c.json").read_text())["calibration"]["temperature"]
    info = json.loads((run / "run.json").read_text())
    assert info["calibration"]["temperature"] == pytest.approx(t) and info["calibration"]["fitted_on"] == "validation"
    assert info["calibration"]["ece_after"] <= info["calibration"]["ece_before"] + 1e-9
    assert info["format"] == "netwright-run" and "document" in info  # the rest is kept
    assert main(["evaluate", "--weights", str(run), "--what", "units", "--quiet"]) == 0  # still loads
    # exported inference code applies it
    assert main(["export", str(CNN), "-o", str(tmp_path / "cnn.py"), "--weights", str(run)]) == 0
    code = (tmp_path / "cnn.py").read_text()
    assert f"TEMPERATURE = {float(t)!r}" in code
    ns: dict = {"__name__": "cnn", "__file__": str(tmp_path / "cnn.py")}
    exec(compile(code, str(tmp_path / "cnn.py"), "exec"), ns)
    model = ns["load_weights"]().eval()
    with torch.no_grad():
        logits = model(torch.randn(3, 1, 8, 8))
        assert torch.allclose(ns["calibrated_probabilities"](logits), torch.softmax(logits / t, dim=-1))
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(tmp_path / "cnn.py")],
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout


def _fails(capsys, argv: list[str], *needles: str) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("netwright: ")
    for n in needles:
        assert n in err, err
    return err


def test_bad_input_gives_clear_messages(cnn_run, tmp_path, capsys):
    w = ["--weights", str(cnn_run)]
    other = json.loads(CNN.read_text())
    other["networks"][0]["nodes"][1]["params"]["out_channels"] = 8  # conv1: 16 channels were trained
    (tmp_path / "other.json").write_text(json.dumps(other))
    _fails(capsys, ["evaluate", str(tmp_path / "other.json"), *w], "do not fit")
    _fails(capsys, ["evaluate", str(MLP), *w], "DigitsMLP", "does not match")
    empty = tmp_path / "noweights"
    shutil.copytree(cnn_run, empty)
    (empty / "weights.safetensors").unlink()
    _fails(capsys, ["evaluate", "--weights", str(empty)], "weights.safetensors")
    _fails(capsys, ["evaluate", "--weights", str(tmp_path / "nothing")], "no such run folder")
    _fails(capsys, ["evaluate", *w, "--split", "no_such_dataset"], "no_such_dataset", "neither val, train")
    _fails(capsys, ["evaluate", *w, "--split", "missing.csv"], "missing.csv", "does not exist")
    _fails(capsys, ["evaluate", *w, "--split", '{"name": "iris"}'], "[4]", "[1, 8, 8]")
    _fails(capsys, ["evaluate", *w, "--eps", "0,-0.1"], "eps grid", "-0.1")
    _fails(capsys, ["evaluate", *w, "--eps", "0,abc"], "--eps")
    _fails(capsys, ["evaluate", *w, "--what", "calibraton"], "unknown section 'calibraton'")
    _fails(capsys, ["evaluate", *w, "--samples", "5000", "--what", "attribution"], "sample 5000 does not exist")
    _fails(capsys, ["evaluate", *w, "--json", str(tmp_path / "x.txt")], "ending in .json")


def test_metric_a_recipe_does_not_support(tmp_path, capsys):
    net = chain("Reg", [("x", "Input", {"shape": [1]}), ("fc", "Linear", {"out_features": 8}), ("a", "Tanh", {}),
                        ("o", "Linear", {"out_features": 1}), ("out", "Output", {})])
    doc = from_dict({"format": "netwright-graph", "version": 1, "networks": [net],
                     "training": {"recipe": "regression", "dataset": {"name": "sine", "n": 200}, "epochs": 1,
                                  "val_split": 0}})
    path = tmp_path / "reg.json"
    document.save(doc, path)
    run = tmp_path / "run"
    assert main(["train", str(path), "--save", str(run), "--quiet"]) == 0
    _fails(capsys, ["evaluate", str(path), "--weights", str(run), "--split", "train", "--what", "calibration"],
           "calibration does not apply", "regression")
    _fails(capsys, ["evaluate", str(path), "--weights", str(run)], "without a validation split", "--split train")
    assert main(["evaluate", str(path), "--weights", str(run), "--split", "train", "--json",
                 str(tmp_path / "r.json")]) == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["calibration"]["applies"] is False and "regression" in rep["calibration"]["reason"]
    assert rep["units"]["applies"] and rep["attribution"]["applies"]
    assert "n/a" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_cnn_digits_as_the_example_trains_it(tmp_path, capsys):
    """The example's own settings (20 epochs), then `evaluate` at its defaults."""
    run = tmp_path / "run"
    assert main(["train", str(CNN), "--device", "cpu", "--save", str(run), "--quiet"]) == 0
    out = tmp_path / "o"
    assert main(["evaluate", str(CNN), "--weights", str(run), "--json", f"{out}.json", "--report", f"{out}.html",
                 "--predictions", f"{out}.npz"]) == 0
    report = json.loads(Path(f"{out}.json").read_text())
    assert report["accuracy"] > 0.9
    _check_consistent(report, np.load(f"{out}.npz"), Path(f"{out}.html").read_text())
