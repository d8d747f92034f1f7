"""Use cases shared by the channels: plain async functions on the wired application.

Each use case that changes something runs in one write transaction (read the run, resume the
engine, write answers, scores, flags and the new state, commit) and returns what the channel
must show; channels only translate input and render output.
"""
