"""The reader study as a local web app (Flask): raters see one blinded image at a time and answer real/synthetic.

Images are served by their opaque id (``/image/<id>``); no file path or truth ever reaches the page, and no score
before a rater has finished. The app binds to 127.0.0.1 unless told otherwise (``skinsynth reader-study --host``):
medical images stay on the machine.
"""

from __future__ import annotations

from typing import Any

from skinsynth.errors import ConfigError
from skinsynth.web.reader_items import sanitize_rater
from skinsynth.web.reader_study import ANSWERS, ReaderStudy

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _hostname(host: str) -> str:
    """``host`` of a ``Host`` header or an origin without its port (``[::1]:8000`` → ``::1``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def create_app(study: ReaderStudy, ask_class: bool = False, host: str = "127.0.0.1") -> Any:
    """A Flask app serving ``study``; ``ask_class`` also asks each rater which class the lesion is.

    Requests must name this machine (or ``host``) in their ``Host`` header, which defeats DNS rebinding, and an
    answer posted from another origin is refused, so a web page a rater visits cannot read images or add answers.
    Raters never see scores before they have answered every image; the results are for the study's owner
    (``skinsynth reader-study RUN_DIR --report``).
    """
    from urllib.parse import urlsplit

    from flask import Flask, Response, abort, redirect, render_template, request, url_for

    app = Flask(__name__)
    allowed = LOCAL_HOSTS | {host}

    @app.before_request
    def same_machine_only() -> None:
        if _hostname(request.host) not in allowed:
            abort(403)
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin and urlsplit(origin).netloc != request.host:
            abort(403)

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
    def done() -> Any:
        rater = rater_or_400()
        if study.next_item(rater) is not None:  # a score before the end would tell the rater which answers were right
            return redirect(url_for("rate", rater=rater))
        mine = study.results()["per_rater"].get(rater)
        return render_template("reader_done.html", rater=rater, result=mine)

    @app.get("/image/<item>")
    def image(item: str) -> Any:
        if item not in study.items.index:
            abort(404)
        response = Response(study.image_png(item), mimetype="image/png")
        response.headers["Cache-Control"] = "no-store"
        return response

    return app
