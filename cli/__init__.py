"""`partner-archive`: the command line, above the domain, the API and the worker it drives.

One process per command: nothing here re-executes itself to reach the worker's code.
"""
