"""tui/render"""
