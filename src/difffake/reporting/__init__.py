"""The scan report: one set of jinja2 templates for `scan --report` and the web page.

words.py    settings, model card and score components in plain words
figures.py  timeline (seconds), calibration strip, anomalous pairs (landmarks, difference)
render.py   the jinja2 environment and the page context
"""
