"""Figures drawn with QtGui painters, without widgets (logos, mutation maps, slices), and the one PNG/SVG/PDF writer: used by the CLI and the GUI."""
