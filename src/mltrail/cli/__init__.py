"""The ``mltrail`` command line: thin commands that parse arguments, call one function, print.

``mltrail.cli.main:main`` is the console-script entry point; each command group lives in its own module
and is imported only when it runs, so ``mltrail --help`` stays fast.
"""
