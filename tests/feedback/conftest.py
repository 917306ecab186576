import pytest


@pytest.fixture
def login_as(login_as, db):
    """Commit the setup first (the login request's teardown rolls back uncommitted work)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login
