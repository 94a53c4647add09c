"""The open case: where it lives (case database or memory), every change through one undo
stack, the workspace computed from it, the Case menu and its dialogs (new case and
details, open a saved case, sign off), and what to do when the case database fails its
integrity check at start.
"""
