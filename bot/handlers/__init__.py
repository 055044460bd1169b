"""Handlers by capability; each is thin: parse the update, call the store or the engine, render."""
