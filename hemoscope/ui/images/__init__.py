"""Opened image files: File ▸ Open and drops, the images of this session and which one is
shown, the list of opened images with thumbnails, and reading image files off the GUI
thread.
"""
