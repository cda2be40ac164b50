"""Export the JASPAR 2026 CORE collections from pyjaspar's bundled SQLite database to the MEME files BioDeep ships.

Usage::

    python tools/make_jaspar_bundle.py [--release JASPAR2026] [--out resources/motifs] [--taxa vertebrates,plants]

Writes ``<release>_CORE_<taxon>.meme`` for each taxonomic group (default: vertebrates, plants, insects,
nematodes, fungi, urochordates) and ``README.md`` (licence, citation, counts) into ``--out``.
Selection: ``collection="CORE"``, ``tax_group=[<taxon>]`` and pyjaspar's default ``all_versions=False``,
i.e. the latest version of every CORE matrix of the group (one per JASPAR base id; CORE is already curated as
non-redundant). Needs ``pip install pyjaspar`` (a test extra, not a runtime dependency).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biodeep_gui.core.sequences.motif_db import BASES, Motif, write_meme  # noqa: E402

TAXA = ("vertebrates", "plants", "insects", "nematodes", "fungi", "urochordates")

README = """\
# Bundled JASPAR motifs

The {release} **CORE** collection, one MEME file per taxonomic group, latest version of each matrix (one per
JASPAR base id, e.g. `MA0139.2 CTCF`):

{table}

The default collection, `{release}_CORE_vertebrates.meme`, holds **{vertebrates} position frequency matrices**.
BioDeep uses them to name the motifs its networks learn (Tomtom-style matching of first-layer filters and of
motifs discovered from attributions; vertebrates by default, the group chosen with `collection` / `--collection`
/ the collection box) and plants real vertebrate binding sites in its synthetic demo data.

## Source

Exported with `tools/make_jaspar_bundle.py` from the JASPAR database bundled in the
[pyJASPAR](https://github.com/asntech/pyjaspar) package (version {pyjaspar_version}, file `{release}.sqlite`),
selected with `fetch_motifs(collection="CORE", tax_group=[<group>])` (latest versions only).
Each matrix is written in MEME minimal motif format (version 4): the counts divided by their position
total as a letter-probability matrix, `nsites=` the largest position total of the counts (rounded),
a uniform background, and `MOTIF <matrix id> <TF name>` as its name line.

pyJASPAR notes that its {release} database was first published for the paper's peer review; check
<https://jaspar.elixir.no/> for the current release before relying on a specific matrix version.

## Licence and citation

JASPAR data are released under the Creative Commons Attribution 4.0 International licence
([CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)). The matrices were not changed apart from the
conversion of counts to probabilities described above. If you use them, please cite:

> Ovek Baydar D, Rauluseviciute I, Aronsen DR, et al. JASPAR 2026: expansion of transcription factor binding
> profiles and integration of deep learning models. *Nucleic Acids Research* 54(D1):D184–D193 (2026).
> doi:10.1093/nar/gkaf1209

and, for the SQLite packaging:

> Khan A. pyJASPAR: a Pythonic interface to JASPAR transcription factor motifs. Zenodo (2021).
> doi:10.5281/zenodo.4485856
"""


def fetch_core(release: str, taxon: str = "vertebrates") -> list[Motif]:
    """Latest-version CORE matrices of one taxonomic group of ``release``, sorted by matrix id."""
    from pyjaspar import jaspardb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjaspar/Biopython deprecation chatter
        records = jaspardb(release=release).fetch_motifs(collection="CORE", tax_group=[taxon],
                                                         all_versions=False)
    motifs = []
    for rec in records:
        counts = np.array([rec.counts[b] for b in BASES], dtype=np.float64).T  # (W, 4)
        motifs.append(Motif(rec.matrix_id, rec.name, counts, nsites=counts.sum(axis=1).max(),
                            source=f"{release} CORE {taxon}"))
    ids = [m.id for m in motifs]
    bases = [m.base_id for m in motifs]
    if len(set(ids)) != len(ids) or len(set(bases)) != len(bases):
        raise SystemExit(f"{taxon}: duplicate matrix ids in the selection; the latest-version filter did not apply")
    return sorted(motifs, key=lambda m: (m.base_id, m.id))


def fetch_core_vertebrates(release: str) -> list[Motif]:
    """Latest-version CORE vertebrate matrices of ``release`` (kept for callers of the first version)."""
    return fetch_core(release, "vertebrates")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default="JASPAR2026")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "motifs")
    parser.add_argument("--taxa", default=",".join(TAXA), help="comma-separated taxonomic groups")
    args = parser.parse_args(argv)

    from importlib.metadata import version

    rows, counts = [], {}
    for taxon in [t.strip() for t in args.taxa.split(",") if t.strip()]:
        motifs = fetch_core(args.release, taxon)
        meme_name = f"{args.release}_CORE_{taxon}.meme"
        meme_path = write_meme(motifs, args.out / meme_name)
        size = meme_path.stat().st_size / 1024
        counts[taxon] = len(motifs)
        rows.append(f"| {taxon} | `{meme_name}` | {len(motifs)} | {size:.0f} KiB |")
        print(f"{taxon}: {len(motifs)} motifs -> {meme_path} ({size:.0f} KiB)")
    table = "| group | file | matrices | size |\n|---|---|---|---|\n" + "\n".join(rows)
    readme = README.format(table=table, release=args.release, pyjaspar_version=version("pyjaspar"),
                           vertebrates=counts.get("vertebrates", "the"))
    (args.out / "README.md").write_text(readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
