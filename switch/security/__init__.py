"""Card-data and transport security (issue 10): `acqsim pci-scan`, TLS context helpers, test PKI and the
connection allow-list.

    from switch.security.scan import scan                      # pci-scan engine (ScanReport, masked)
    from switch.security.registry import declare_encrypted     # mark a column as protected
    from switch.security.tls import server_tls_options, client_tls_options, listen
    from switch.security.allowlist import AllowListFactory
    from switch.security.certs import write_test_pki           # CA, server and client certs for tests
"""
