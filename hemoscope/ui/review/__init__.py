"""Reviewing a captured field and counting: the station's modes and keys (live, review,
manual count), which cell is where and which comes next, the class menu and the
classifier's guess for a drawn cell, the marks of cells already counted, and the cell
gallery with its model and sections.
"""
