"""The bot's conversations as data: one module per flow, a states table each (see core.py)."""
