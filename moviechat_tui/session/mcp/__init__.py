"""MCP servers: the programs of `[[mcp_servers]]`, their tools in the session's registry.

connection.py runs one server over stdio with the `mcp` SDK (the only module that imports
it), under a watchdog so that it never outlives the app; tools.py makes its tools `Tool`s
named `<server>__<tool>`; servers.py starts every configured server in the background,
reports one that fails or dies as a line in the chat, and asks the user before a tool that
may change things runs.
"""
