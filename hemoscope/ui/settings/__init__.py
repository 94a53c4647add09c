"""Settings: the station's settings as a value and their QSettings store, the preferences
dialog and its pages (keymap, report, camera scale, models), and adapting the classifier
to this microscope (a laboratory profile).
"""
