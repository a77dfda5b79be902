def explain(error: BaseException, url: URL) -> str | None:
    """One line for a connection error a developer can fix, naming the fix; None for others."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    where = url.render_as_string(hide_password=True)
    code = getattr(cause, "sqlstate", None)
    if code == "3D000":
        return f"Database {url.database!r} does not exist on {url.host}: create it with `make db`."
    if code in ("28P01", "28000"):
        return f"{where} refused the login ({cause}): fix the user or password in DATABASE_URL."
    if code == "42501":
        return f"User {url.username!r} may not create databases on {url.host}: ask its owner to."
    if isinstance(cause, OSError):
        return (
            f"Cannot reach the database at {where} ({type(cause).__name__}): start it with "
            "`make services`, or point DATABASE_URL at a running server."
        )
    return None
