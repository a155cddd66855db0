"""The files a run leaves, one model each: shared by the writer, every reader and the tests.

No module parses a run file by itself: it calls the reader here and gets typed records.
"""
