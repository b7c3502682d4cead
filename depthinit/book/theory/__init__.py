"""The computations and figures behind the theory chapters, one module per chapter.

A theory notebook's cells call these functions and glue what they return; the algebra
itself lives in :mod:`depthinit.theory`. Each function takes the chapter's parameters
(widths, depths, seeds, numbers of networks) and returns plain data (DataFrames, floats)
or a matplotlib figure, so that tests can check the numbers without executing a notebook.
"""
