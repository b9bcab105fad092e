"""docs/nodes.md is generated from the catalog and must be kept in step with it."""
from __future__ import annotations

from pathlib import Path

from graph_compiler import docgen
from graph_compiler.catalog import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
NODES_MD = ROOT / "docs" / "nodes.md"


def test_nodes_md_is_up_to_date() -> None:
    assert docgen.DEFAULT_OUTPUT == NODES_MD
    fresh = docgen.generate()
    current = NODES_MD.read_text(encoding="utf-8") if NODES_MD.exists() else ""
    assert current == fresh, (
        "docs/nodes.md is out of date with graph_compiler/catalog; run `make docs` "
        "(python -m graph_compiler.docgen) and commit the result"
    )


def test_generation_is_deterministic() -> None:
    assert docgen.generate() == docgen.generate()


def test_every_node_type_and_param_is_documented() -> None:
    text = docgen.generate()
    sections = text.split("\n### ")[1:]
    by_type = {s.split("\n", 1)[0]: s for s in sections}
    assert set(REGISTRY.specs) <= set(by_type)
    for spec in REGISTRY:
        section = by_type[spec.type]
        assert spec.doc.strip() in section
        for p in spec.params:
            assert f"| `{p.name}` |" in section, f"{spec.type}.{p.name}"
    assert "| `in_features` | int | inferred |" in by_type["Linear"]
    assert "| `out_features` | int | **required** |" in by_type["Linear"]
    assert '`"zeros"`, `"reflect"`' in by_type["Conv2d"]
    assert "1 `last`" in by_type["LSTM"]
    assert "## Blocks" in text


def test_check_flag_reports_a_stale_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "nodes.md"
    assert docgen.main(["--check", "--output", str(out)]) == 1  # missing
    out.write_text("# old\n", encoding="utf-8")
    assert docgen.main(["--check", "--output", str(out)]) == 1
    assert "make docs" in capsys.readouterr().err
    assert docgen.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == docgen.generate()
    assert docgen.main(["--check", "--output", str(out)]) == 0
