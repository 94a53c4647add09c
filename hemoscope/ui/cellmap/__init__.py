"""The cell map: the case's classified white cells placed by their classifier embedding
(`core.cell_map`), drawn with pyqtgraph; hover shows a cell, a click shows it in its
field, a rectangle and a class key relabel many cells as one undo step.
"""
