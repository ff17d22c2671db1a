"""Stage 4, the web edge: the server and its start-up, the REST API, uploads and who may make
them, the Gradio chat (its layout in `ui`, its work in `chat`, answers as HTML in `render`, why
a passage was picked in `why`, filters in `filters`), the Documents view and document pages,
public source paths, the request log, the API reference, and the static files (widget, chat
script and styles).

May import everything below it (`qa.answer`, `qa.index`, `qa.ingest`); nothing imports it but
`qa.cli`.
"""
