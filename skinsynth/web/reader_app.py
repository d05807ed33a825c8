"""The reader study as a local web app (Flask): raters see one blinded image at a time and answer real/synthetic.

Images are served by their opaque id (``/image/<id>``); no file path or truth ever reaches the page. The app binds
to 127.0.0.1 unless told otherwise (``skinsynth reader-study --host``): medical images stay on the machine.
"""

from __future__ import annotations

from typing import Any

from skinsynth.errors import ConfigError
from skinsynth.web.reader_study import ANSWERS, ReaderStudy, sanitize_rater


def create_app(study: ReaderStudy, ask_class: bool = False) -> Any:
    """A Flask app serving ``study``; ``ask_class`` also asks each rater which class the lesion is."""
    from flask import Flask, Response, abort, redirect, render_template, request, url_for

    app = Flask(__name__)

    def rater_or_400() -> str:
        try:
            return sanitize_rater(request.values.get("rater", ""))
        except ConfigError as error:
            abort(Response(render_template("reader_error.html", message=str(error)), status=400))

    @app.get("/")
    def start() -> str:
        return render_template("reader_start.html", generator=study.settings["generator"], items=len(study.items))

    @app.get("/rate")
    def rate() -> Any:
        rater = rater_or_400()
        item = study.next_item(rater)
        if item is None:
            return redirect(url_for("done", rater=rater))
        answered, total = study.progress(rater)
        return render_template(
            "reader_rate.html",
            rater=rater,
            item=item,
            position=answered + 1,
            total=total,
            answers=ANSWERS,
            classes=study.classes if ask_class else [],
        )

    @app.post("/answer")
    def answer() -> Any:
        rater = rater_or_400()
        try:
            study.record(
                rater, request.form.get("item", ""), request.form.get("answer", ""), request.form.get("code", "")
            )
        except ConfigError as error:
            return Response(render_template("reader_error.html", message=str(error)), status=400)
        return redirect(url_for("rate", rater=rater))

    @app.get("/done")
    def done() -> str:
        rater = rater_or_400()
        mine = study.results()["per_rater"].get(rater)
        return render_template("reader_done.html", rater=rater, result=mine)

    @app.get("/image/<item>")
    def image(item: str) -> Any:
        if item not in study.items.index:
            abort(404)
        response = Response(study.image_png(item), mimetype="image/png")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/results")
    def results() -> str:
        return render_template("reader_results.html", results=study.results(), generator=study.settings["generator"])

    return app
