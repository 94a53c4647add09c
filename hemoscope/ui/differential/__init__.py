"""The running differential in the side panel: the table text, the bar chart with reference
ranges, and the red-cell histogram.
"""
