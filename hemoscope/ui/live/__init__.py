"""The live picture and its source: frames as the station stamps them, the source runner
(capture thread, reconnect) and its status, the Source menu and the catalogue of capture
sources behind it, the persistent inference worker, and what the station says about its
machinery (status bar, lost-camera banner).
"""
