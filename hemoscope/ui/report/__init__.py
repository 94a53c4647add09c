"""The Report menu: PDF, print with preview, CSV and JSON data, and the retraining export
(the reports themselves are drawn by `hemoscope.report`).
"""
