"""One self-contained HTML page for an evaluation report: every plot a PNG embedded as a
data: URI (drawn with matplotlib's Agg canvas, no pyplot, no display), every table plain
HTML, no scripts and no external files, so it reads offline and prints (each section
starts on its own page when printed). Every user-supplied name is HTML-escaped.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

SECTION_TITLES = {
    "calibration": "Calibration", "robustness": "Adversarial robustness", "attribution": "Attributions",
    "units": "Dead and saturated units", "ood": "Unfamiliar inputs",
}
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}img{max-width:100%}
.na{color:#777;font-style:italic}.green{color:#2e7d32}.amber{color:#b26a00}.red{color:#c62828}
.note{color:#555;font-size:.9em}pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}
@media print{section{page-break-before:always}body{margin:0;max-width:none}}
"""


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _figure(w: float, h: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


# ---------------------------------------------------------------- sections


def reliability_figure(cal: dict[str, Any]) -> Any:
    fig = _figure(9, 3.8)
    for k, (key, title) in enumerate((("before", "before"), ("after", f"after (T = {cal['temperature']:.3f})"))):
        ax = fig.add_subplot(1, 2, k + 1)
        bins = cal[key]["bins"]
        mids = [(b["lower"] + b["upper"]) / 2 for b in bins]
        width = bins[0]["upper"] - bins[0]["lower"]
        acc = [b["accuracy"] or 0.0 for b in bins]
        conf = [b["confidence"] if b["count"] else 0.0 for b in bins]  # empty bins draw nothing
        ax.bar(mids, acc, width=width, color="#4c78a8", edgecolor="white", label="accuracy")
        ax.bar(mids, np.array(conf) - np.array(acc), bottom=acc, width=width, color="#e45756", alpha=0.35,
               label="gap to confidence")
        ax.plot([0, 1], [0, 1], "--", color="#555", lw=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
               title=f"{title}: ECE {cal[key]['ece'] * 100:.2f}%")
        ax.legend(loc="upper left", fontsize=8)
    return fig


def _calibration(cal: dict[str, Any]) -> str:
    b, a = cal["before"], cal["after"]
    rows = "".join(
        f"<tr><td>{x['lower']:.3f}–{x['upper']:.3f}</td><td>{x['count']}</td><td>{_pct(x['accuracy'])}</td>"
        f"<td>{_pct(x['confidence'])}</td><td>{_pct(y['accuracy'])}</td><td>{_pct(y['confidence'])}</td></tr>"
        for x, y in zip(b["bins"], a["bins"]))
    return (f"<p>Accuracy {_pct(cal['accuracy'])} on {cal['n']} samples. Temperature scaling "
            f"(T = {cal['temperature']:.4f}) takes ECE from {_pct(b['ece'])} to {_pct(a['ece'])}, MCE from "
            f"{_pct(b['mce'])} to {_pct(a['mce'])} and NLL from {b['nll']:.4f} to {a['nll']:.4f}. "
            "T &gt; 1 means the model was over-confident, T &lt; 1 under-confident.</p>"
            + _png(reliability_figure(cal))
            + "<table><tr><th>confidence bin</th><th>count</th><th>accuracy</th><th>confidence</th>"
              "<th>accuracy after T</th><th>confidence after T</th></tr>" + rows + "</table>"
            + f"<p class='note'>{_e(cal['note'])}; 15 equal-width bins (Guo et al. 2017).</p>")


def robustness_figure(rob: dict[str, Any]) -> Any:
    fig = _figure(6, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    eps = [r["eps"] for r in rob["curve"]]
    ax.plot(eps, [r["fgsm_accuracy"] for r in rob["curve"]], "o-", label="FGSM", color="#f58518")
    ax.plot(eps, [r["pgd_accuracy"] for r in rob["curve"]], "s-", label=f"PGD ({rob['pgd_steps']} steps)",
            color="#e45756")
    ax.set(xlabel="eps (normalised input units)", ylabel="accuracy", ylim=(0, 1.02), title="accuracy under attack")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _image_grid(rows: list[list[tuple[Any, str, str]]]) -> Any:
    """rows of (2-D array, title, colormap) drawn as one figure."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = _figure(2.2 * n_cols, 2.3 * n_rows)
    for i, row in enumerate(rows):
        for j, (img, title, cmap) in enumerate(row):
            ax = fig.add_subplot(n_rows, n_cols, i * n_cols + j + 1)
            a = np.asarray(img, dtype=np.float64)
            if cmap == "RdBu_r":
                m = float(np.abs(a).max()) or 1.0
                ax.imshow(a, cmap=cmap, vmin=-m, vmax=m)
            else:
                ax.imshow(a, cmap=cmap)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    return fig


def _robustness(rob: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{r['eps']:g}</td><td>{_pct(r['fgsm_accuracy'])}</td><td>{_pct(r['pgd_accuracy'])}</td></tr>"
                   for r in rob["curve"])
    out = (f"<p>Clean accuracy {_pct(rob['clean_accuracy'])} on {rob['n']} samples. Eps is in "
           f"{_e(rob['eps_units'])}; inputs stay within [{rob['bounds'][0]:.3g}, {rob['bounds'][1]:.3g}]. "
           f"PGD: L-inf, {rob['pgd_steps']} steps of {_e(rob['pgd_step_size'])}; a sample counts as robust only "
           "if neither attack fools it.</p>" + _png(robustness_figure(rob))
           + "<table><tr><th>eps</th><th>FGSM accuracy</th><th>PGD accuracy</th></tr>" + rows + "</table>")
    images = [ex for ex in rob.get("examples", []) if "clean" in ex]
    if images:
        grid = [[(ex["clean"], f"clean: {ex['clean_pred']} ({ex['clean_confidence'] * 100:.0f}%)", "gray_r"),
                 (ex["perturbation"], "perturbation", "RdBu_r"),
                 (ex["adversarial"], f"attacked: {ex['adv_pred']} ({ex['adv_confidence'] * 100:.0f}%)", "gray_r")]
                for ex in images]
        out += f"<p>Examples at eps = {rob['default_eps']:g} (true class in brackets below):</p>" + _png(_image_grid(grid))
        out += "<p>" + ", ".join(f"#{ex['index']}: true {_e(ex['true'])}" for ex in images) + "</p>"
    return out


def _bars(ax: Any, values: list[float], title: str) -> None:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    ax.bar(range(len(v)), v, color=["#4c78a8" if x >= 0 else "#e45756" for x in v])
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("token" if title.startswith("tok") else "feature / step")


def _attribution(att: dict[str, Any]) -> str:
    out = (f"<p>{_e(att['method']['saliency'])} and {_e(att['method']['integrated_gradients'])}, attributed at the "
           f"{_e(att['attributed_at'])}, baseline: {_e(att['baseline'])}. Completeness (IG sums to f(x) − "
           f"f(baseline)): largest relative gap {att['max_completeness_gap_relative'] * 100:.3f}% "
           f"({'within' if att['completeness_ok'] else 'NOT within'} 1%).</p>")
    rows = "".join(
        f"<tr><td>{s['index']}</td><td class='l'>{_e(s.get('true', ''))}</td><td class='l'>{_e(s['prediction'])}</td>"
        f"<td class='l'>{_e(s['target_name'])}</td><td>{s['f_x']:.4f}</td><td>{s['f_baseline']:.4f}</td>"
        f"<td>{s['ig_sum']:.4f}</td><td>{s['completeness_gap_relative'] * 100:.3f}%</td></tr>" for s in att["samples"])
    out += ("<table><tr><th>sample</th><th class='l'>true</th><th class='l'>predicted</th><th class='l'>explained</th>"
            "<th>f(x)</th><th>f(baseline)</th><th>sum of IG</th><th>gap</th></tr>" + rows + "</table>")
    if att["input_kind"] == "image":
        grid = [[(s["image"], f"#{s['index']}", "gray_r"), (s["saliency"], f"saliency → {s['target_name']}", "hot"),
                 (s["integrated_gradients"], f"IG → {s['target_name']}", "RdBu_r")] for s in att["samples"]]
        return out + _png(_image_grid(grid))
    fig = _figure(9, 2.4 * len(att["samples"]))
    for i, s in enumerate(att["samples"]):
        _bars(fig.add_subplot(len(att["samples"]), 2, 2 * i + 1), s["saliency"], f"#{s['index']} saliency")
        _bars(fig.add_subplot(len(att["samples"]), 2, 2 * i + 2), s["integrated_gradients"],
              f"#{s['index']} integrated gradients → {s['target_name']}")
    fig.tight_layout()
    return out + _png(fig)


def _units(un: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td class='l'>{_e(r['node'])}</td><td class='l'>{_e(r['type'])}</td><td>{r['units']}</td>"
        f"<td>{_pct(r['dead_fraction'])}</td><td>{_pct(r['saturated_fraction'])}</td>"
        f"<td>{'–' if r['grad_norm'] is None else format(r['grad_norm'], '.3g')}</td>"
        f"<td class='l {r['level']}'>{r['level']}</td></tr>" for r in un["nodes"])
    findings = "".join(f"<li>{_e(f)}</li>" for f in un["findings"])
    return (f"<p>On a fixed probe batch of {un['probe_samples']} samples. Dead: ReLU-family units never above 0; "
            "saturated: sigmoid / tanh outputs beyond 0.99 of their range. Gradient norm: of the loss with respect "
            "to the node's output.</p><ul>" + findings + "</ul>"
            "<table><tr><th class='l'>node</th><th class='l'>type</th><th>units</th><th>dead</th><th>saturated</th>"
            "<th>grad norm</th><th class='l'>health</th></tr>" + rows + "</table>")


def ood_figure(od: dict[str, Any], score: str = "msp") -> Any:
    shifts = od["shifts"]
    fig = _figure(3.2 * len(shifts), 2.8)
    for i, r in enumerate(shifts):
        ax = fig.add_subplot(1, len(shifts), i + 1)
        h = r["histogram"][score]
        edges = np.asarray(h["edges"])
        mids, w = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        ax.bar(mids, h["familiar"], width=w, alpha=0.6, label="evaluated data", color="#4c78a8")
        ax.bar(mids, h["unfamiliar"], width=w, alpha=0.6, label=r["shift"], color="#e45756")
        ax.set_title(f"{r['shift']}: AUROC {r['auroc'][score]:.3f}", fontsize=9)
        ax.set_xlabel(score)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _ood(od: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td class='l'>{_e(r['shift'])}</td><td>{r['n']}</td><td>{r['auroc']['msp']:.3f}</td>"
                   f"<td>{r['auroc']['energy']:.3f}</td></tr>" for r in od["shifts"])
    return ("<p>Scores: maximum softmax probability (MSP) and negative energy (logsumexp of the logits); higher "
            "means more familiar. AUROC 0.5 is chance, 1.0 perfect separation of the evaluated data from the shifted "
            "data.</p><table><tr><th class='l'>unfamiliar data</th><th>samples</th><th>AUROC (MSP)</th>"
            "<th>AUROC (energy)</th></tr>" + rows + "</table>" + _png(ood_figure(od, "msp"))
            + _png(ood_figure(od, "energy")))


_WRITERS = {"calibration": _calibration, "robustness": _robustness, "attribution": _attribution, "units": _units,
            "ood": _ood}


def render_html(report: dict[str, Any], summary_text: str = "") -> str:
    """The report page (see the module doc)."""
    title = f"Netwright evaluation: {report['network']}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p>{_e(report['recipe'])} model, {_e(report['split'])} data of "
             f"{_e(report['dataset'])}: {report['n']} samples of shape {_e(report['input_shape'])}.</p>"]
    if summary_text:
        parts.append(f"<h2 id='summary'>Summary</h2><pre>{_e(summary_text)}</pre>")
    for key, writer in _WRITERS.items():
        section = report.get(key)
        if section is None:
            continue
        body = writer(section) if section.get("applies") else f"<p class='na'>Does not apply: {_e(section['reason'])}</p>"
        parts.append(f"<section id='{key}'><h2>{SECTION_TITLES[key]}</h2>{body}</section>")
    parts.append("<p class='note'>Written by netwright evaluate. Every number is also in the --json output.</p>"
                 "</body></html>")
    return "\n".join(parts)


__all__ = ["SECTION_TITLES", "ood_figure", "reliability_figure", "render_html", "robustness_figure"]
