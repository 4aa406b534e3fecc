"""Pure decisions: no I/O, no asyncio, no sockets. Imports nothing of ours but itself."""
