"""A test-only third provider: REST, offset pages, an `updated_since` filter, bearer token.

It exists to prove a platform is one package plus one line: the rules suite and the Definitions
take it from the registry like RunSignUp and Haku.
"""
