"""Stage 4, the web edge: the server, the REST API, uploads, the Gradio chat, rendering, and the
widget's static files.

May import everything below it (`qa.answer`, `qa.index`, `qa.ingest`); nothing imports it but
`qa.cli`.
"""
