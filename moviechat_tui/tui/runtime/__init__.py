"""tui/runtime"""
