"""Watched folders and auto-export (docs/watch-folders.md): :class:`~stenograph.watch.watcher.FolderWatcher`
takes new media files through the service's submit, :mod:`~stenograph.watch.export` writes the outputs."""
