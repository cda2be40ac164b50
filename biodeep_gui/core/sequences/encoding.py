"""DNA as compact uint8 codes (1 byte per base) and one-hot made per batch on the training device.

Codes: 0-3 = A, C, G, T; 4 = N; 5-14 = the other IUPAC ambiguity codes; 15 = padding.
``one_hot`` spreads an ambiguous base evenly over the bases it stands for (N -> 0.25 each, R -> 0.5 A + 0.5 G),
and padding is an all-zero column, so no base is ever silently dropped.
"""
from __future__ import annotations

import numpy as np

BASES = "ACGT"
CODE_LETTERS = "ACGTNRYSWKMBDHV"  # index = code; PAD_CODE (15) has no letter
PAD_CODE = 15
N_CODES = 16
INVALID = 255

_IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "N": "ACGT", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG",
}

#: (16, 4) float32: the one-hot column of each code.
ONE_HOT_TABLE = np.zeros((N_CODES, 4), dtype=np.float32)
for _code, _letter in enumerate(CODE_LETTERS):
    for _b in _IUPAC[_letter]:
        ONE_HOT_TABLE[_code, BASES.index(_b)] = 1.0 / len(_IUPAC[_letter])

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N", "R": "Y", "Y": "R", "S": "S", "W": "W",
               "K": "M", "M": "K", "B": "V", "D": "H", "H": "D", "V": "B"}
#: (16,) uint8: code of the complementary base (padding stays padding).
COMPLEMENT_CODES = np.array([CODE_LETTERS.index(_COMPLEMENT[c]) for c in CODE_LETTERS] + [PAD_CODE], dtype=np.uint8)

#: (256,) uint8 byte -> code; lower case (soft-masked) accepted, U read as T, anything else INVALID.
BYTE_TO_CODE = np.full(256, INVALID, dtype=np.uint8)
for _code, _letter in enumerate(CODE_LETTERS):
    BYTE_TO_CODE[ord(_letter)] = _code
    BYTE_TO_CODE[ord(_letter.lower())] = _code
BYTE_TO_CODE[ord("U")] = BYTE_TO_CODE[ord("u")] = BASES.index("T")
BYTE_TO_CODE[ord(".")] = BYTE_TO_CODE[ord("-")] = CODE_LETTERS.index("N")  # gaps in alignments-derived FASTA


def encode(seq: str | bytes) -> np.ndarray:
    """Encode one sequence.

    Returns
    -------
    codes : (L,) uint8; ``INVALID`` (255) where a character is not a nucleotide code, for the caller to report.
    """
    raw = seq.encode("latin-1", "replace") if isinstance(seq, str) else seq
    return BYTE_TO_CODE[np.frombuffer(raw, dtype=np.uint8)]


def first_invalid(codes: np.ndarray) -> int:
    """Index of the first INVALID code in a 1-D code array, or -1."""
    bad = np.flatnonzero(codes == INVALID)
    return int(bad[0]) if bad.size else -1


def fit_length(codes: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop or pad (with ``PAD_CODE`` on both sides, centred) a (L,) code array to ``length``."""
    n = codes.shape[0]
    if n == length:
        return codes
    if n > length:
        start = (n - length) // 2
        return codes[start:start + length]
    out = np.full(length, PAD_CODE, dtype=np.uint8)
    start = (length - n) // 2
    out[start:start + n] = codes
    return out


def decode(codes: np.ndarray) -> str:
    """(L,) codes -> string; padding is dropped."""
    letters = np.frombuffer((CODE_LETTERS + "\0").encode(), dtype=np.uint8)
    return letters[codes].tobytes().decode().replace("\0", "")


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of (..., L) codes (numpy)."""
    return COMPLEMENT_CODES[codes][..., ::-1]


def one_hot_numpy(codes: np.ndarray) -> np.ndarray:
    """(N, L) codes -> (N, 4, L) float32 one-hot (for small inputs; training uses ``one_hot``)."""
    return np.ascontiguousarray(ONE_HOT_TABLE[codes].transpose(0, 2, 1))


def one_hot(codes, table=None):
    """One-hot on the codes' own device.

    Parameters
    ----------
    codes : torch.Tensor, (N, L) uint8
    table : torch.Tensor, (16, 4) float, on the same device; made on the fly when omitted

    Returns
    -------
    torch.Tensor, (N, 4, L) float32
    """
    import torch

    if table is None:
        table = torch.from_numpy(ONE_HOT_TABLE).to(codes.device)
    return torch.nn.functional.embedding(codes.long(), table).transpose(1, 2)


def reverse_complement_torch(codes, complement=None):
    """Reverse complement of (N, L) uint8 code tensors on their own device."""
    import torch

    if complement is None:
        complement = torch.from_numpy(COMPLEMENT_CODES).to(codes.device)
    return complement[codes.long()].flip(-1)
