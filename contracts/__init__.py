"""The store's request and response shapes, shared by api/ and the bot's store client.

One module per capability; `vocab` holds enums several layers share. This package imports only
pydantic and the standard library, never anything of the project, so every layer may import it.
"""
