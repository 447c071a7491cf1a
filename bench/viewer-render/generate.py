#!/usr/bin/python3
"""Writes a realistic notebook of about --mb megabytes for bench/viewer-render.

A climate analysis as scientists write them: markdown with LaTeX, Python code cells, and
outputs of every common kind: matplotlib PNGs (maps of noisy fields, so they compress like
real plots with colour maps do not: the PNG bytes dominate, as in real notebooks), pandas-style
HTML tables (text/html + text/plain), print() streams, an execute_result, a traceback with ANSI
colours. Deterministic (seeded). Uses Debian's matplotlib/numpy/nbformat.

  /usr/bin/python3 generate.py OUT.ipynb [--mb 20]
"""
import argparse
import base64
import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--mb", type=float, default=20.0)
args = ap.parse_args()
target = int(args.mb * 1024 * 1024)
rng = np.random.default_rng(42)


def png(i):
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    field = rng.normal(size=(180, 360)).cumsum(axis=1) / 20 + rng.normal(size=(180, 360))
    im = ax.imshow(field, cmap="RdBu_r", origin="lower", extent=[-180, 180, -90, 90])
    fig.colorbar(im, ax=ax, label="tas anomaly (K)")
    ax.set_title(f"EUR-11 tas anomaly, member r{i}i1p1")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def table(i, rows=60):
    cols = ["tas", "pr", "psl", "uas", "vas", "huss"]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = []
    plain = ["      " + "  ".join(f"{c:>9}" for c in cols)]
    for r in range(rows):
        vals = rng.normal(size=len(cols))
        body.append(f"<tr><th>{1990 + r}</th>" + "".join(f"<td>{v:.4f}</td>" for v in vals) + "</tr>")
        plain.append(f"{1990 + r}  " + "  ".join(f"{v:9.4f}" for v in vals))
    html = ('<div><style scoped>.dataframe tbody tr th{vertical-align:top}</style>'
            f'<table border="1" class="dataframe"><thead><tr><th>year</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><p>{rows} rows × {len(cols)} columns (ensemble {i})</p></div>')
    return html, "\n".join(plain)


nb = new_notebook()
nb.metadata = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python", "version": "3.11.2"},
}
cells = nb.cells
cells.append(new_markdown_cell("# Regional warming in EUR-11\n\nWe compute the anomaly "
                               "$\\Delta T = T - \\bar T_{1991\\text{–}2020}$ and its trend\n\n"
                               "$$\\frac{\\partial T}{\\partial t} = \\alpha + \\beta t + \\varepsilon$$\n"))
size = 0
i = 0
while size < target:
    i += 1
    cells.append(new_markdown_cell(f"## Member {i}\n\nThe ensemble member *r{i}i1p1*; see **Table {i}** "
                                   f"and the map below ($\\sigma = {0.1 * i:.1f}$ K)."))
    src = (f"ds = xr.open_dataset('/data/CORDEX/EUR-11/r{i}i1p1/tas_day.nc')\n"
           "anom = ds.tas - ds.tas.sel(time=slice('1991', '2020')).mean('time')\n"
           "anom.isel(time=-1).plot(cmap='RdBu_r')\n"
           "print(f'mean anomaly: {float(anom.mean()):.3f} K')")
    outs = [
        new_output("stream", name="stdout", text="".join(f"step {k}: mean anomaly {rng.normal():.5f} K\n" for k in range(40))),
        new_output("display_data", data={"image/png": png(i), "text/plain": "<Figure size 800x450 with 2 Axes>"}),
    ]
    html, plain = table(i)
    outs.append(new_output("execute_result", data={"text/html": html, "text/plain": plain}, execution_count=2 * i))
    if i % 10 == 0:
        outs.append(new_output("error", ename="KeyError", evalue="'tasmax'",
                               traceback=["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
                                          "\x1b[0;31mKeyError\x1b[0m                                  Traceback (most recent call last)",
                                          "\x1b[0;31mKeyError\x1b[0m: 'tasmax'"]))
    cells.append(new_code_cell(src, outputs=outs, execution_count=2 * i))
    size = len(nbformat.writes(nb).encode()) if i % 5 == 0 or size > 0.9 * target else size + 400_000
for k, cell in enumerate(cells):
    cell.id = f"cell-{k}"  # nbformat's are random: fixed ids make the file identical run to run
nbformat.write(nb, args.out)
print(f"{args.out}: {os.path.getsize(args.out)} bytes, {len(cells)} cells, {i} images")
