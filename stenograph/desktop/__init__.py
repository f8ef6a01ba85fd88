"""``stenograph desktop``: a native window (pywebview over Qt WebEngine) on the web app, see docs/desktop.md."""
