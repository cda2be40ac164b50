import numpy as np
import torch

from biodeep_gui.core.sequences import encoding as E


def test_encode_accepts_lowercase_u_and_iupac():
    codes = E.encode("ACGTacgtUuNnRy")
    assert E.first_invalid(codes) == -1
    assert E.decode(codes) == "ACGTACGTTTNNRY"


def test_invalid_characters_are_flagged_not_dropped():
    codes = E.encode("ACG7T")
    assert len(codes) == 5
    assert E.first_invalid(codes) == 3


def test_one_hot_spreads_ambiguity_and_zeroes_padding():
    codes = np.array([[0, 4, 5, E.PAD_CODE]], dtype=np.uint8)  # A, N, R, pad
    oh = E.one_hot_numpy(codes)[0]
    assert oh.shape == (4, 4)
    np.testing.assert_allclose(oh[:, 0], [1, 0, 0, 0])
    np.testing.assert_allclose(oh[:, 1], [0.25] * 4)
    np.testing.assert_allclose(oh[:, 2], [0.5, 0, 0.5, 0])  # R = A/G
    np.testing.assert_allclose(oh[:, 3], [0, 0, 0, 0])


def test_torch_one_hot_matches_numpy():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 16, (3, 20)).astype(np.uint8)
    np.testing.assert_allclose(E.one_hot(torch.from_numpy(codes)).numpy(), E.one_hot_numpy(codes))


def test_fit_length_centres():
    codes = E.encode("AACCGGTT")
    assert E.decode(E.fit_length(codes, 4)) == "CCGG"
    padded = E.fit_length(codes, 12)
    assert padded[:2].tolist() == [E.PAD_CODE] * 2 and E.decode(padded) == "AACCGGTT"


def test_reverse_complement():
    codes = E.encode("AACGTN")[None]
    assert E.decode(E.reverse_complement(codes)[0]) == "NACGTT"
    rc = E.reverse_complement_torch(torch.from_numpy(codes))
    assert E.decode(rc.numpy()[0]) == "NACGTT"
