"""DanQ-style hybrid (Quang & Xie, 2016): conv motif scanner -> max pool -> dropout -> bidirectional RNN -> dense."""
from __future__ import annotations

from torch import nn

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class DanQ(nn.Module):
    """(N, 4, L) -> Conv1d(4, F, W) -> ReLU -> MaxPool(P) -> Dropout -> Bi-RNN(H) over the L/P steps
    -> Dropout(0.5) -> flatten (N, L/P * 2H) -> Dense -> ReLU -> Linear -> (N, K).

    ``cell`` picks the recurrent cell: 'lstm' (DanQ), 'gru', or 'rnn' (vanilla, to show what long memory buys).
    """

    def __init__(self, length: int, n_outputs: int, filters: int = 64, filter_width: int = 19, pool: int = 13,
                 rnn_hidden: int = 32, cell: str = "lstm", hidden: int = 64, dropout: float = 0.2):
        super().__init__()
        self.first_conv = nn.Conv1d(4, filters, filter_width, padding=filter_width // 2)
        self.pool = nn.MaxPool1d(pool, ceil_mode=True)
        self.drop_in = nn.Dropout(dropout)
        self.rnn = _CELLS[cell](filters, rnn_hidden, batch_first=True, bidirectional=True)
        steps = -(-length // pool)
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Flatten(), nn.Linear(steps * 2 * rnn_hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, n_outputs))

    def forward(self, x):
        h = self.drop_in(self.pool(self.first_conv(x).relu()))  # (N, F, S)
        seq, _ = self.rnn(h.transpose(1, 2))  # (N, S, 2H)
        return self.head(seq)
