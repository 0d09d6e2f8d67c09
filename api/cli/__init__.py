"""The `dangphi` command line: a treasurer's and auditor's entrypoint onto the ledger.

One module per resource (org, member, month, money, policy), thin commands
that parse input, call one application method and render the result; errors
from the ledger become a bilingual message on stderr and exit status 2.
"""
