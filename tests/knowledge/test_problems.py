"""Problems, known errors and candidate problems."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicedesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from servicedesk.knowledge import problems, services
from servicedesk.knowledge.models import ArticleStatus, ProblemStatus
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, Status


def test_create_and_link_incidents_writes_history(db, make, clock):
    service = make.service()
    a, b = make.ticket(service_id=service.id), make.ticket(service_id=service.id)
    problem = problems.create_problem(db, actor=make.expert(), now=clock.now(),
                                      title="Printers jam after firmware 4.2",
                                      service_id=service.id, incident_ids=[a.id])
    assert problem.status is ProblemStatus.open and problem.incidents == [a]
    new = problems.link_incidents(db, problem, [a.id, b.id], actor=make.expert(),
                                  now=clock.now())
    assert new == [b] and problem.incidents == [a, b]
    assert [(e.kind, e.field, e.new_value) for e in b.events][-1] == (
        EventKind.linked, "problem", problem.number)


@pytest.mark.parametrize("kwargs, field", [
    ({"title": ""}, "title"), ({"title": "t", "service_id": 999999}, "service_id"),
    ({"title": "t", "incident_ids": [999999]}, "incident_ids"),
])
def test_create_validates(db, make, clock, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        problems.create_problem(db, actor=make.expert(), now=clock.now(), **kwargs)
    assert field in exc.value.fields


def test_agents_do_not_manage_problems(db, make, clock):
    with pytest.raises(PermissionDenied):
        problems.create_problem(db, actor=make.agent(), now=clock.now(), title="t")


def test_known_error_publishes_article_and_links_every_incident(db, make, clock):
    service = make.service()
    incidents = [make.ticket(service_id=service.id) for _ in range(3)]
    expert = make.expert()
    problem = problems.create_problem(db, actor=expert, now=clock.now(), title="Gate printers jam",
                                      description="Jams since the firmware update",
                                      service_id=service.id,
                                      incident_ids=[t.id for t in incidents[:2]])
    article = problems.record_known_error(db, problem, actor=expert, now=clock.now(),
                                          root_cause="Firmware 4.2 roller timing",
                                          workaround="Set the printer to slow mode")
    assert problem.status is ProblemStatus.known_error
    assert problem.known_error_article is article
    assert article.is_known_error and article.is_must_read
    assert article.status is ArticleStatus.published and article.author_id == expert.id
    assert article.resolution == "Set the printer to slow mode"
    assert [s.id for s in article.services] == [service.id]
    for ticket in incidents[:2]:
        assert [u.article_id for u in services.articles_for_ticket(db, ticket)] == [article.id]
    # incidents linked later get the known error too
    problems.link_incidents(db, problem, [incidents[2].id], actor=expert, now=clock.now())
    assert [u.article_id for u in services.articles_for_ticket(db, incidents[2])] == [article.id]
    assert problems.known_errors_for_service(db, service.id) == [article]
    assert services.must_read_feed(db, make.agent()) == [article]
    # resolving an incident with it records the known-error code
    agent = make.agent()
    services.resolve_with_article(db, incidents[0], article, actor=agent, now=clock.now())
    assert incidents[0].resolution_code.value == "known_error"


def test_known_error_as_draft_links_nothing_yet(db, make, clock):
    ticket = make.ticket()
    problem = make.problem(incident_ids=[ticket.id])
    article = problems.record_known_error(db, problem, actor=make.expert(), now=clock.now(),
                                          root_cause="c", workaround="w", publish=False)
    assert article.status is ArticleStatus.draft
    assert services.articles_for_ticket(db, ticket) == []


def test_known_error_needs_cause_and_workaround_and_fresh_version(db, make, clock):
    problem = make.problem()
    for kwargs, field in (({"root_cause": "", "workaround": "w"}, "root_cause"),
                          ({"root_cause": "c", "workaround": " "}, "workaround")):
        with pytest.raises(ValidationError) as exc:
            problems.record_known_error(db, problem, actor=make.expert(), now=clock.now(),
                                        **kwargs)
        assert field in exc.value.fields
    with pytest.raises(Conflict):
        problems.record_known_error(db, problem, actor=make.expert(), now=clock.now(),
                                    root_cause="c", workaround="w",
                                    expected_version=problem.version + 1)
    problems.resolve_problem(db, problem, actor=make.expert(), now=clock.now())
    with pytest.raises(InvalidTransition):
        problems.resolve_problem(db, problem, actor=make.expert(), now=clock.now())


def test_candidate_problems_group_similar_open_incidents_per_service(db, make, clock):
    printers, radar = make.service(), make.service()
    agent = make.agent()

    def ticket(service, title, description, **kw):
        return make.ticket(actor=agent, service_id=service.id, title=title,
                           description=description, **kw)

    p1 = ticket(printers, "Boarding pass printer jams at gate B12",
                "The printer jams on every second boarding pass")
    p2 = ticket(printers, "Printer jams at gate B14", "Boarding pass printer jams again")
    p3 = ticket(printers, "Gate B15 boarding pass printer jammed",
                "Printer jams with boarding passes")
    ticket(printers, "Printer toner empty", "Replace toner cartridge in office")
    r1 = ticket(radar, "Radar display flickers", "The radar display flickers in tower")
    r2 = ticket(radar, "Tower radar display flickering", "Radar display flickers")
    z1 = ticket(radar, "打印机卡纸", "登机牌打印机卡纸")
    z2 = ticket(radar, "登机牌打印机卡纸了", "打印机又卡纸")
    found = problems.candidate_problems(db, now=clock.now())
    groups = [[t.id for t in c.tickets] for c in found]
    assert groups[0] == [p1.id, p2.id, p3.id]
    assert sorted(groups[1:]) == sorted([[r1.id, r2.id], [z1.id, z2.id]])
    assert "printer" in found[0].common_terms and 0 < found[0].similarity <= 1
    assert problems.candidate_problems(db, now=clock.now(), service_id=radar.id)[0].service \
        == radar


def test_candidates_skip_old_closed_and_already_linked_incidents(db, make, clock):
    service = make.service()
    agent = make.agent()

    def belt(title="Belt 4 stops"):
        return make.ticket(actor=agent, service_id=service.id, title=title,
                           description="Belt stops")

    old = belt()
    clock.advance(days=3)
    a, b = belt(), belt("Belt 4 stopped")
    assert [[t.id for t in c.tickets] for c in problems.candidate_problems(
        db, now=clock.now())] == [[a.id, b.id]]
    assert len(problems.candidate_problems(db, now=clock.now(), window=timedelta(days=4))[0]
               .tickets) == 3
    tickets.change_status(db, b, Status.resolved, actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="done")
    assert problems.candidate_problems(db, now=clock.now()) == []
    make.problem(incident_ids=[old.id])
    c = belt()
    assert [[t.id for t in g.tickets] for g in problems.candidate_problems(
        db, now=clock.now(), window=timedelta(days=4))] == [[a.id, c.id]]
    with pytest.raises(ValidationError):
        problems.candidate_problems(db, now=clock.now(), min_similarity=0)
