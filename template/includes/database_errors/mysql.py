def explain(error: BaseException, url: URL) -> str | None:
    """One line for a connection error a developer can fix, naming the fix; None for others."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    where = url.render_as_string(hide_password=True)
    code = cause.args[0] if cause is not None and cause.args else None
    if code == 1049:
        return f"Database {url.database!r} does not exist on {url.host}: create it with `make db`."
    if code == 1045:
        return f"{where} refused the login: fix the user or password in DATABASE_URL."
    if code == 1044:
        return f"User {url.username!r} may not use or create {url.database!r}: ask its owner to."
    if code in (2002, 2003) or isinstance(cause, OSError):
        return (
            f"Cannot reach the database at {where} ({type(cause).__name__}): start it with "
            "`make services`, or point DATABASE_URL at a running server."
        )
    return None
