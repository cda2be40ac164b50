"""The PySide6 + pyqtgraph desktop interface: turns core generators into signals; never computes science."""
