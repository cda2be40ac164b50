"""A copy of the input VCF with the variant effects in INFO (``biodeep variants ... --vcf-out scored.vcf``).

Every record of the input is written, in order, with its other columns unchanged; the scores go in INFO fields
declared in the header, one value per ALT allele (``Number=A``), ``.`` where an allele was not scored (REF
mismatch, contig missing from the genome, skipped as too long or symbolic):

``BIODEEP_REF_CHECK``
    'ok' | 'mismatch' | 'no_contig' | 'skipped' (String)
``BIODEEP_REF_SCORE``, ``BIODEEP_ALT_SCORE``, ``BIODEEP_DELTA``, ``BIODEEP_LOGIT_DELTA``
    the columns of effects.tsv (Float), suffixed ``_<output>`` when the model has several outputs

The values are the very text of effects.tsv (the same formatting), so the two files never disagree. The header is
cyvcf2's reading of the input's plus the new lines; the file is plain text, written atomically.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from biodeep_gui.core.sequences.variants import (
    SCORE_KINDS,
    VariantEffects,
    _cyvcf2,
    _fmt,
)

#: Prefix of every INFO field BioDeep adds (kept apart from the caller's own fields).
INFO_PREFIX = "BIODEEP_"

_KIND_TEXT = {
    "ref_score": "model output for the reference allele's window",
    "alt_score": "model output for the alternative allele's window",
    "delta": "alt_score minus ref_score, in the output's units (probability for classification)",
    "logit_delta": "log-odds difference alt minus ref (raw difference for regression)",
}


def info_id(column: str) -> str:
    """The INFO ID of an effects.tsv score column ('delta_CTCF' -> 'BIODEEP_DELTA_CTCF'); VCF-legal characters."""
    return INFO_PREFIX + re.sub(r"[^0-9A-Za-z_.]", "_", column).upper()


def _header_lines(effects: VariantEffects) -> list[dict]:
    lines = [{"ID": INFO_PREFIX + "REF_CHECK", "Number": "A", "Type": "String",
              "Description": "BioDeep: REF against the genome (ok, mismatch, no_contig) or skipped (see the "
                             "skipped list); only ok alleles are scored"}]
    names = effects.output_names
    for column in effects.score_columns():
        kind = next(k for k in SCORE_KINDS if column == k or column.startswith(k + "_"))
        about = _KIND_TEXT[kind] + (f", output {column[len(kind) + 1:]}" if len(names) > 1 else "")
        lines.append({"ID": info_id(column), "Number": "A", "Type": "Float", "Description": f"BioDeep: {about}"})
    return lines


def write_scored_vcf(effects: VariantEffects, vcf: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write ``path``: the records of ``vcf`` with the scores of ``effects`` (read from that VCF) in INFO.

    Parameters
    ----------
    effects : the result of ``score_variants`` on ``vcf``; alleles are matched by record index and ALT
    vcf : the VCF that was scored (.vcf, .vcf.gz or .bcf)
    path : the VCF to write (plain text), atomically

    Returns
    -------
    Path : ``path``
    """
    from biodeep_gui.core.common.fileio import atomic_write_with

    cyvcf2 = _cyvcf2()
    columns = effects.score_columns()
    ids = [info_id(c) for c in columns]
    scores = effects.scores()  # (N, 4 K), in ``columns`` order
    by_allele: dict[tuple[int, str], tuple[str, list[str]]] = {}
    for a, check, row in zip(effects.alleles, effects.ref_check, scores):
        by_allele[(a.record, a.alt)] = (check, [_fmt(float(v)) for v in row])
    skipped = {(s.record, s.alt) for s in effects.skipped}

    reader = cyvcf2.VCF(str(vcf), lazy=True)
    try:
        for line in _header_lines(effects):
            reader.add_info_to_header(line)

        def write(fh) -> None:
            fh.write(reader.raw_header.encode("utf-8"))
            for i, rec in enumerate(reader):
                alts = [str(x).upper() for x in rec.ALT] or ["."]
                checks, values = [], [[] for _ in ids]
                for alt in alts:
                    check, cells = by_allele.get((i, alt), ("skipped" if (i, alt) in skipped else ".", []))
                    checks.append(check)
                    for j in range(len(ids)):
                        values[j].append(cells[j] if cells and cells[j] else ".")
                added = [f"{INFO_PREFIX}REF_CHECK={','.join(checks)}"]
                added += [f"{k}={','.join(v)}" for k, v in zip(ids, values) if any(x != "." for x in v)]
                fields = str(rec).rstrip("\n").split("\t")
                info = fields[7]
                fields[7] = ";".join(added) if info in ("", ".") else info + ";" + ";".join(added)
                fh.write(("\t".join(fields) + "\n").encode("utf-8"))

        return atomic_write_with(path, write)
    finally:
        reader.close()
