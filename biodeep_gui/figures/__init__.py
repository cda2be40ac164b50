"""Figures painted with QtGui, without widgets, for the GUI and the command line alike.

``logos``          sequence logos (letter heights, glyphs, axes), filter logo files
``mutation_maps``  in-silico mutagenesis maps (heat map, importance letters, colour bar)
``export``         the one PNG / SVG / PDF writer (``write_figure``), atomic
``report_plots``   training curves, metric intervals and scan slices for run reports
``report``         a run report as one self-contained HTML file or a PDF (``write_report``)
``architecture``   a network drawn as blocks in words (the Model tab)

Layer rules (import-linter, ``pyproject.toml``): figures import ``core`` and PySide6's QtCore / QtGui / QtSvg,
never QtWidgets, pyqtgraph, ``gui`` or ``cli``. Drawing needs a Qt application, which the caller creates
(see ``export``). The app's scan slice viewer draws with pyqtgraph; ``report_plots`` paints the report's slices.
"""
