"""Looking at a study in the browser: a static study page and a local real-vs-synthetic reader study.

* :mod:`skinsynth.web.page` writes ``index.html`` into a run directory (no server needed to view it).
* :mod:`skinsynth.web.reader_study` holds a blinded reader study's items and answers (no web framework).
* :mod:`skinsynth.web.reader_app` serves it to raters on 127.0.0.1 (Flask).
"""
