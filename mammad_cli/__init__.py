"""The ``mammad`` command line: list agents, train, sample, evaluate, label, RLHF.

::

    mammad agents
    mammad train --agent ppo --env MammadMelody-count-v0 --reward theory+note_rnn --steps 200000
    mammad train --resume runs/<run>                 # after Ctrl-C or a crash; --steps N: on to N
    mammad sample runs/<run>/model.zip -n 16 --out samples/
    mammad evaluate runs/<run>/model.zip -n 10000    # the table, then one JSON line
    mammad label --pool runs/<run> --db prefs.sqlite   # serves http://127.0.0.1:8765
    mammad preference train --db prefs.sqlite --out pref_model/
    mammad rlhf --env MammadMelody-count-v0 --rounds 5 --labeler synthetic:theory

A thin layer over the library: one module per subcommand parses its arguments and calls
library functions (:mod:`agents.run_lifecycle`, :mod:`agents.training`, ...), which print
nothing; this package prints what they return and log. Every argument is checked before any
work starts, and before torch is imported. Model files load without unpickling anything
(:mod:`agents.model_files`; ``--trust-pickle`` to override), run folders are made atomically
and locked while in use, and Ctrl-C saves a checkpoint (:mod:`agents.runs`).

Nothing in the library imports this package.
"""

from mammad_cli.main import build_parser, main

__all__ = ["build_parser", "main"]
