"""A non-editable install works: build the wheel, install it into a fresh venv, and run the
installed `netwright` from outside the repository.

The venv borrows the test environment's dependencies (torch, PySide6, ...) through a .pth
line instead of downloading them; a plain path line does not run the .pth files of the
directory it adds, so the editable install of the repository stays out of the way and the
venv sees only the wheel's copy of Netwright.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SKIP = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
         ".pytest_cache", "runs", "out")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    # Build from a copy, so setuptools' build/ and egg-info never land in the checkout.
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*_SKIP))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(tmp / "dist"), str(src)], tmp, env)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("netwright-*.whl")

    prefix = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(prefix)
    python = prefix / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp, env).stdout.strip())
    (purelib / "_shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                 "--no-index", "-q", str(wheel)], tmp, env)
    assert done.returncode == 0, done.stderr
    outside = tmp / "elsewhere"
    outside.mkdir()
    return {"bin": prefix / "bin", "purelib": purelib, "cwd": outside, "wheel": wheel}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_the_wheel_carries_examples_schema_icons_and_styles(installed: dict[str, Path]) -> None:
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert "graph_compiler/examples/cnn_digits.json" in names
    assert "graph_compiler/schema/netwright-graph.schema.json" in names
    assert "designer/resources/styles/base.qss" in names
    assert "designer/resources/icons/run.svg" in names
    assert "graph_compiler/interop/script_templates/training.py" in names


def test_installed_netwright_reports_its_version(installed: dict[str, Path]) -> None:
    from graph_compiler import __version__

    out = _run([str(installed["bin"] / "netwright"), "--version"], installed["cwd"], _env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"netwright {__version__}"


def test_installed_netwright_validates_a_packaged_example(installed: dict[str, Path]) -> None:
    example = installed["purelib"] / "graph_compiler" / "examples" / "cnn_digits.json"
    assert example.is_file()
    out = _run([str(installed["bin"] / "netwright"), "validate", str(example)],
               installed["cwd"], _env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"{example}: ok"


def test_installed_package_finds_its_own_data(installed: dict[str, Path]) -> None:
    probe = (
        "import json\n"
        "import graph_compiler\n"
        "from graph_compiler.examples import examples_dir, list_examples, load_example\n"
        "from graph_compiler.schema_check import load_schema, schema_path\n"
        "from designer import theme\n"
        "print(json.dumps({'package': graph_compiler.__file__, 'examples': str(examples_dir()),\n"
        "  'names': [e.name for e in list_examples()],\n"
        "  'loaded': load_example('mlp_digits').networks[0].name,\n"
        "  'schema': str(schema_path()), 'schema_title': load_schema().get('title', ''),\n"
        "  'styles': sorted(p.name for p in theme.STYLES.glob('*.qss')),\n"
        "  'icons': len(list(theme.ICONS.glob('*.svg')))}))\n"
    )
    out = _run([str(installed["bin"] / "python"), "-c", probe], installed["cwd"], _env())
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    purelib = str(installed["purelib"])
    assert found["package"].startswith(purelib)  # the wheel's copy, not the checkout
    assert found["examples"].startswith(purelib)
    assert len(found["names"]) == len(list((ROOT / "graph_compiler" / "examples").glob("*.json")))
    assert "cnn_digits" in found["names"] and found["loaded"]
    assert found["schema"].startswith(purelib)
    assert found["styles"] == ["base.qss"]
    assert found["icons"] == len(list((ROOT / "designer" / "resources" / "icons").glob("*.svg")))
