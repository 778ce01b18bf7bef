"""The pieces of the `kubernetes` target that do not need a cluster to be proven: reading a
cluster (`cluster`), run namespaces and the sweeper's choice (`namespaces`), the readiness
gate's causes (`readiness`), the diagnostics bundle (`diagnostics`).
"""
