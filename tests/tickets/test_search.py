"""Queue search: full-text (SQLite FTS5 / PostgreSQL tsvector) and ticket numbers, role-scoped.

Runs on whichever database the suite runs on (TEST_DATABASE_URL), so both back ends are held
to the same answers.
"""
import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.escalation.models import EngagementState
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.queries import QueueFilter, queue
from servicedesk.tickets.search import is_search_object, words


@pytest.fixture
def desk(make):
    caller = make.requester()
    other_caller = make.requester()
    radar = make.ticket(title="Radar feed lost at tower", requester=caller,
                        description="The approach radar screen shows no tracks since 06:10.")
    belt = make.ticket(title="Baggage belt 7 stopped", requester=other_caller,
                       description="Conveyor motor overheated; bags piling up at Terminal 2.")
    toner = make.ticket(title="Printer toner low", requester=caller,
                        description="Toner for the radar room printer, café on level 3")
    return {"caller": caller, "other_caller": other_caller, "radar": radar, "belt": belt,
            "toner": toner}


def found(db, user, q, view="all"):
    return {t.id for t in queue(db, user, QueueFilter(view=view, q=q, per_page=100)).items}


def test_finds_title_words_description_words_and_word_prefixes(db, make, desk):
    agent = make.agent()
    radar, belt, toner = desk["radar"], desk["belt"], desk["toner"]
    assert found(db, agent, "radar") == {radar.id, toner.id}  # title of one, description of other
    assert found(db, agent, "conveyor") == {belt.id}  # description only
    assert found(db, agent, "Belt 7") == {belt.id}  # every word, any case
    assert found(db, agent, "belt tower") == set()  # words of different tickets
    assert found(db, agent, "overheat") == {belt.id}  # the last word is a prefix, as typed
    assert found(db, agent, "motor overh") == {belt.id}
    assert found(db, agent, "moto overheated") == set()  # earlier words are whole words
    assert found(db, agent, "CAFÉ") == {toner.id}  # accents kept, case folded, on both
    assert found(db, agent, "cafe") == set()
    assert found(db, agent, "06:10") == {radar.id}  # punctuation separates words
    assert found(db, agent, "adar") == set()  # words match from their start
    assert found(db, agent, "%") == set() and found(db, agent, "'\"*") == set()


def test_finds_ticket_numbers_exactly_and_by_prefix(db, make, desk):
    agent = make.agent()
    belt = desk["belt"]
    assert belt.id in found(db, agent, str(belt.id))  # unpadded
    assert belt.id in found(db, agent, belt.number.lower())
    assert belt.id in found(db, agent, belt.number[:-1])  # INC-00004 finds INC-000040..49
    prefix = belt.number[:-1]
    lo = int(prefix.removeprefix("INC-")) * 10
    assert all(lo <= i <= lo + 9 or i == lo // 10 for i in found(db, agent, prefix))


def test_exact_number_does_not_match_other_numbers(db, make, desk):
    agent = make.agent()
    belt = desk["belt"]
    # The exact number of one ticket: that ticket, plus only tickets whose text has the word.
    assert found(db, agent, belt.number) == {belt.id}


def test_search_follows_title_and_description_changes(db, make, desk, clock):
    agent = make.agent()
    belt = desk["belt"]
    tickets.update_ticket(db, belt, actor=agent, now=clock.now(), title="Carousel 7 halted",
                          description="Jammed by a pushchair.")
    db.flush()
    assert found(db, agent, "carousel") == {belt.id}
    assert found(db, agent, "pushchair") == {belt.id}
    assert found(db, agent, "conveyor") == set()  # the old words are gone


def test_search_stays_role_scoped(db, make, desk):
    caller = desk["caller"]
    assert found(db, caller, "radar") == {desk["radar"].id, desk["toner"].id}
    assert found(db, desk["other_caller"], "radar") == set()  # not theirs
    assert found(db, desk["other_caller"], "belt") == {desk["belt"].id}
    assert found(db, caller, desk["belt"].number) == set()  # a number does not leak either
    vendor = make.vendor()
    vendor_user = make.vendor_user(vendor)
    assert found(db, vendor_user, "radar") == set()
    make.engagement(desk["radar"], vendor, state=EngagementState.approved)
    assert found(db, vendor_user, "radar") == {desk["radar"].id}


def test_search_combines_with_views_and_counts(db, make, desk):
    agent = make.agent()
    page = queue(db, agent, QueueFilter(view="open", q="radar", per_page=1))
    assert page.total == 2 and len(page.items) == 1
    assert found(db, agent, "radar", view="mine") == set()


def test_queue_page_and_api_search(db, make, login_as, desk):
    agent = make.agent()
    db.commit()  # login_as's request context rolls back whatever is uncommitted
    client = login_as(agent)
    body = client.get("/queue?view=all&q=conveyor").get_data(as_text=True)
    assert desk["belt"].number in body and desk["radar"].number not in body
    resp = client.get("/api/v1/tickets?view=all&q=radar%20room")
    assert {t["id"] for t in resp.get_json()["items"]} == {desk["toner"].id}


def test_words_are_lower_cased_runs_of_letters_and_digits():
    assert words("Belt-7 STOPPED, café!") == ["belt", "7", "stopped", "café"]
    assert words("%_*\"'") == [] and words("foo_bar") == ["foo", "bar"]


def test_search_index_is_in_the_database(db):
    """The SQLite FTS table (or PostgreSQL GIN index) exists beside the ORM's tables."""
    inspector = sa.inspect(db.connection())
    if db.bind.dialect.name == "sqlite":
        assert any(is_search_object(n, "table") for n in inspector.get_table_names())
    else:
        assert any(is_search_object(i["name"], "index")
                   for i in inspector.get_indexes(Ticket.__tablename__))


def test_search_is_answered_by_the_index(db, make, desk):
    """SQLite asks the FTS5 table; PostgreSQL uses the GIN index (with sequential scans
    discouraged, as on a large table: these test tables are tiny)."""
    from servicedesk.tickets.search import search_clause

    stmt = sa.select(Ticket.id).where(search_clause("belt mot"))
    compiled = stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "sqlite":
        plan = " | ".join(str(r[-1])
                          for r in db.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "VIRTUAL TABLE INDEX" in plan and "tickets_fts" in plan, plan
    else:
        db.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " | ".join(str(r[0]) for r in db.execute(sa.text(f"EXPLAIN {compiled}")))
        assert "ix_tickets_search" in plan, plan
