from exsim_helpers import exchange  # noqa: F401  (the fixture)
