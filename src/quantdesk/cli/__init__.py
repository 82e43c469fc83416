"""Command-line interface (typer + rich). Thin: every command calls a library function and prints."""
