"""DeepBind-style CNN (Alipanahi et al., 2015): motif scanner -> rectify -> global pooling -> dense."""
from __future__ import annotations

import torch
from torch import nn


class DeepBindCNN(nn.Module):
    """(N, 4, L) -> Conv1d(4, F, W) -> ReLU -> [global max ; global mean] (N, 2F) -> Dense(H) -> ReLU
    -> Dropout -> Linear -> (N, K).

    ``first_conv`` is the motif-scanning layer read by the interpretation tools. Global pooling makes the
    prediction independent of where the motif sits, and the input length only matters for the conv padding.
    """

    def __init__(self, length: int, n_outputs: int, filters: int = 32, filter_width: int = 19, hidden: int = 32,
                 dropout: float = 0.3):
        super().__init__()
        self.first_conv = nn.Conv1d(4, filters, filter_width, padding=filter_width // 2)
        self.head = nn.Sequential(nn.Linear(2 * filters, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_outputs))

    def forward(self, x):
        h = torch.relu(self.first_conv(x))  # (N, F, L')
        pooled = torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)  # (N, 2F)
        return self.head(pooled)
