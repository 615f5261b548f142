"""`difffake serve`: a web page and a JSON API around the same scan the CLI runs.

config.py   the server's limits and defaults (one dataclass)
uploads.py  streaming multipart upload to a private folder, with a size limit
jobs.py     the bounded job queue, workers, progress, retention
app.py      the FastAPI application (routes, token check, errors as JSON)
"""
