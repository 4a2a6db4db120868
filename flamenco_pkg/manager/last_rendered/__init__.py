"""Last-rendered previews: the upload queue and Pillow thumbnails
(`previews.py`), and the loop that processes uploads (`loop.py`)."""
