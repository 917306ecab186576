"""The airport-drill demo desk behind ``flask sd seed-demo``.

It builds the desk of the ITIL airport drill (shared/DOMAIN.md): services across four terminals
and the airside, a tier-1 service desk and three tier-2 expert teams with their dispatchers and
managers, two vendors, users of every role, then a few weeks of tickets. Every ticket goes
through the real service functions (``tickets.services``) with ``now`` stepping forward, so the
history, first-response times and resolutions read like a real month at the desk. The same seed
gives the same desk. It flushes and never commits; the caller owns the transaction.
"""
from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from servicedesk.accounts import services as accounts
from servicedesk.accounts.models import Group, Role, User, Vendor
from servicedesk.catalog import services as catalog
from servicedesk.catalog.models import Category, Service
from servicedesk.errors import Conflict, ValidationError
from servicedesk.escalation import services as escalation
from servicedesk.escalation.models import VendorEngagement
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import Channel, Status, Ticket
from servicedesk.tickets.priority import priority_for

#: The one password of every demo login (printed in the summary; it is a demo).
DEMO_PASSWORD = "demo-password"
#: Tickets needed for every status and every story (major incidents, duplicates) to appear.
MIN_TICKETS = 30
#: How far back the generated tickets go.
HISTORY = timedelta(days=28)

# --- the people --------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    email: str
    name: str
    role: Role
    does: str


#: The documented demo logins (all with DEMO_PASSWORD), in the order the summary lists them.
LOGINS: tuple[Login, ...] = (
    Login("agent@demo.test", "Maya Chen", Role.agent,
          "service-desk agent (tier 1): intake form, queues, first-contact fixes"),
    Login("dispatcher@demo.test", "Tomas Novak", Role.agent,
          "service-desk dispatcher: accepts and assigns the desk's tickets"),
    Login("expert1@demo.test", "Ravi Patel", Role.expert, "expert, Airside Systems (tier 2)"),
    Login("expert2@demo.test", "Anna Kowalski", Role.expert, "expert, Terminal IT (tier 2)"),
    Login("expert3@demo.test", "Jonas Eriksen", Role.expert,
          "expert, Network & Infrastructure (tier 2)"),
    Login("manager@demo.test", "Lars Berg", Role.manager,
          "service-delivery manager: runs desk and experts, approves vendor work"),
    Login("director@demo.test", "Sofia Reyes", Role.manager,
          "operations director: SLA owner, budget"),
    Login("vendor@skytech.demo.test", "Sam Walker", Role.vendor,
          "vendor engineer, SkyTech Field Services (tier 3)"),
    Login("vendor@nordicradar.demo.test", "Elin Dahl", Role.vendor,
          "vendor engineer, Nordic Radar Systems (tier 3)"),
    Login("requester@demo.test", "Grace Okafor", Role.requester,
          "customer manager, Terminal 2: the requester portal"),
    Login("admin@demo.test", "Ingrid Holm", Role.admin, "administrator: users, catalog, matrix"),
)

_MORE_AGENTS = (("agent2@demo.test", "Leo Martin"), ("agent3@demo.test", "Aisha Rahman"),
                ("agent4@demo.test", "Kenji Sato"))


@dataclass(frozen=True)
class ExpertTeam:
    name: str
    description: str
    dispatcher: tuple[str, str]
    manager: tuple[str, str]
    expert_login: str
    more_experts: tuple[tuple[str, str], ...]


EXPERT_TEAMS = (
    ExpertTeam("Airside Systems", "Radar, tower voice, docking guidance, belts, fuel, lighting.",
               ("airside.dispatcher@demo.test", "Oskar Lind"),
               ("airside.manager@demo.test", "Helena Brandt"), "expert1@demo.test",
               (("marta.silva@demo.test", "Marta Silva"),)),
    ExpertTeam("Terminal IT", "Kiosks, displays, boarding passes, cargo and catering systems.",
               ("terminal.dispatcher@demo.test", "Priya Nair"),
               ("terminal.manager@demo.test", "David Cohen"), "expert2@demo.test",
               (("chen.wei@demo.test", "Chen Wei"),)),
    ExpertTeam("Network & Infrastructure", "LAN, Wi-Fi, airline links, e-mail, badges.",
               ("network.dispatcher@demo.test", "Felix Wagner"),
               ("network.manager@demo.test", "Laura Rossi"), "expert3@demo.test",
               (("omar.haddad@demo.test", "Omar Haddad"),)),
)

#: Requesters: customer managers, airline and ground staff (name, organisation e-mail domain).
_ORGS = {
    "skylink": "skylink-air.demo.test",
    "nordwind": "nordwind-air.demo.test",
    "pacific": "pacificcrest.demo.test",
    "aurora": "aurora-express.demo.test",
    "ops": "airport-ops.demo.test",
    "ground": "groundhandling.demo.test",
    "cargo": "cargo-terminal.demo.test",
}
_REQUESTERS = (
    ("Amara Nwosu", "skylink"), ("Bjorn Larsen", "skylink"), ("Carmen Vidal", "skylink"),
    ("Daniel Schmidt", "skylink"), ("Emily Carter", "skylink"), ("Farid Haddad", "nordwind"),
    ("Greta Johansson", "nordwind"), ("Hiroshi Tanaka", "nordwind"), ("Isabel Moreau", "nordwind"),
    ("Jakub Dvorak", "nordwind"), ("Kavya Iyer", "pacific"), ("Liam O'Brien", "pacific"),
    ("Mei Lin", "pacific"), ("Nikolai Petrov", "pacific"), ("Olivia Brown", "pacific"),
    ("Pedro Alves", "aurora"), ("Qin Yu", "aurora"), ("Rosa Martinez", "aurora"),
    ("Stefan Weber", "aurora"), ("Tanvir Ahmed", "aurora"), ("Ursula Keller", "ops"),
    ("Victor Dubois", "ops"), ("Wanjiru Kamau", "ops"), ("Xavier Lopez", "ops"),
    ("Yasmin Aziz", "ops"), ("Zofia Nowak", "ops"), ("Ahmed Saleh", "ground"),
    ("Beatriz Costa", "ground"), ("Connor Walsh", "ground"), ("Dmitri Volkov", "ground"),
    ("Elena Popescu", "ground"), ("Fatima Zahra", "ground"), ("George Mensah", "cargo"),
    ("Hannah Fischer", "cargo"), ("Ivan Horvat", "cargo"), ("Julia Santos", "cargo"),
    ("Kwame Boateng", "cargo"), ("Lucia Romano", "cargo"), ("Mateo Ruiz", "ops"),
    ("Nadia Karim", "skylink"),
)
_AOC = ("aoc@airport-ops.demo.test", "Airport Operations Centre")
_MONITORING = ("monitoring@demo.test", "Airport monitoring (integration)")

# --- the catalog -------------------------------------------------------------------------

CATEGORIES = ("Hardware", "Software", "Network", "Access", "Integration", "Power & facilities",
              "How-to & information")
TERMINALS = ("Terminal 1", "Terminal 2", "Terminal 3", "Terminal 4")
_TEAM_KEYS = {"airside": "Airside Systems", "terminal": "Terminal IT",
              "network": "Network & Infrastructure"}


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    kind: str
    criticality: int
    team: str
    description: str
    terminal: int | None = None


def _service_specs() -> list[ServiceSpec]:
    specs: list[ServiceSpec] = []
    for n, terminal in enumerate(TERMINALS, start=1):
        specs += [
            ServiceSpec(f"{terminal} check-in kiosks", "kiosk", 2, "terminal",
                        f"Self-service check-in and bag-tag kiosks in {terminal}.", n),
            ServiceSpec(f"{terminal} baggage belts", "belt", 1, "airside",
                        f"Baggage drop, sorter and reclaim belts of {terminal}.", n),
            ServiceSpec(f"{terminal} flight information displays", "fids", 2, "terminal",
                        f"Departure/arrival boards and gate screens in {terminal}.", n),
            ServiceSpec(f"{terminal} docking guidance", "docking", 1, "airside",
                        f"Visual docking guidance systems at the {terminal} contact stands.", n),
        ]
    specs += [
        ServiceSpec("Approach radar", "radar", 1, "airside",
                    "Primary and secondary surveillance radar feeding approach and tower."),
        ServiceSpec("Control tower communications", "tower", 1, "airside",
                    "Tower voice switch, radios, headsets and the voice recorder."),
        ServiceSpec("Runway and taxiway lighting control", "lighting", 1, "airside",
                    "Airfield ground lighting control panels and circuits."),
        ServiceSpec("Fuel management", "fuel", 1, "airside",
                    "Fuel orders, hydrant meters and bowser dispatch."),
        ServiceSpec("Cargo handling system", "cargo", 2, "terminal",
                    "Cargo manifests, warehouse scales and ULD tracking."),
        ServiceSpec("Boarding-pass reissue", "boarding", 2, "terminal",
                    "Reissuing and reprinting boarding passes at gates and transfer desks."),
        ServiceSpec("Catering ordering", "catering", 3, "terminal",
                    "Meal orders and passenger counts sent to the flight kitchens."),
        ServiceSpec("Airline departure control link", "dcs", 1, "network",
                    "The link between airport check-in and the airlines' departure control."),
        ServiceSpec("Airport network and Wi-Fi", "network", 2, "network",
                    "Terminal LAN, staff and passenger Wi-Fi, comms rooms."),
        ServiceSpec("E-mail and office IT", "office", 3, "network",
                    "Mailboxes, office PCs and printers of the operations offices."),
        ServiceSpec("Staff badges and access", "access", 2, "network",
                    "Airside door access, staff badges and application accounts."),
    ]
    return specs


#: Kinds whose faults an automatic probe can raise (channel "monitoring").
MONITORED = frozenset({"belt", "fids", "radar", "tower", "lighting", "fuel", "dcs", "network"})
#: Kinds for which the radar vendor is engaged; SkyTech takes everything else.
RADAR_VENDOR_KINDS = frozenset({"radar", "tower", "lighting"})


@dataclass(frozen=True)
class Fault:
    title: str
    detail: str
    category: str
    impact: int
    urgency: int
    fix: str


_F = Fault
FAULTS: dict[str, tuple[Fault, ...]] = {
    "kiosk": (
        _F("Kiosk {kiosk} in {terminal} rejects every passport scan",
           "Passengers at kiosk {kiosk} get 'document could not be read' for every passport; "
           "the queue is moving to the staffed desks.", "Hardware", 3, 2,
           "Cleaned and recalibrated the passport reader; replaced the worn glass cover."),
        _F("Kiosk {kiosk} prints blank bag tags",
           "Bag tags come out blank at kiosk {kiosk}; boarding passes print fine.", "Hardware",
           3, 2, "Replaced the thermal print head cartridge and reloaded the tag stock."),
        _F("All kiosks in {terminal} hall C frozen on the welcome screen",
           "Every kiosk in hall C shows the welcome screen and ignores touches since the "
           "morning wave; passengers queue at the desks for {airline}.", "Software", 1, 1,
           "Kiosk application hung after the overnight update; rolled back to the previous "
           "release and restarted all kiosks in hall C."),
        _F("Card reader on kiosk {kiosk} declines all excess-baggage payments",
           "The payment terminal in kiosk {kiosk} declines every card with error 05.",
           "Hardware", 3, 3, "Payment terminal had lost its key set; re-injected keys."),
        _F("Kiosks in {terminal} cannot find bookings for {airline}",
           "Kiosks answer 'booking not found' for {airline} passengers only; other airlines "
           "work.", "Integration", 2, 1,
           "The airline's kiosk profile pointed at its test host after their change; corrected "
           "the endpoint with the airline."),
    ),
    "belt": (
        _F("Baggage belt {belt} in {terminal} stopped with bags on it",
           "Drop-off belt {belt} stopped; emergency stop is not pressed, the panel shows "
           "motor fault E17. Bags for {flight} are piling up.", "Hardware", 2, 1,
           "Motor overload tripped; cleared a jammed bag, reset the breaker, belt running."),
        _F("Sorter sends {terminal} bags to the wrong make-up carousel",
           "Bags tagged for {flight} arrive at carousel 3 instead of 5; handlers are "
           "re-sorting by hand.", "Software", 2, 1,
           "Sorter routing table was missing tonight's carousel change; reloaded the plan."),
        _F("Tag scanner at belt {belt} reads no bag tags",
           "The automatic tag reader at belt {belt} reads nothing; every bag goes to manual "
           "coding.", "Hardware", 2, 2, "Scanner array lens fogged; cleaned and realigned."),
        _F("Reclaim belt {belt} in {terminal} runs in reverse",
           "Reclaim belt {belt} started running backwards after the restart; bags fall off "
           "the end.", "Hardware", 2, 1, "Phase swapped after electrical work; corrected "
           "wiring with the facilities electrician."),
    ),
    "fids": (
        _F("Departure board in {terminal} shows yesterday's flights",
           "The main departure board in {terminal} still shows yesterday evening's flights; "
           "passengers ask staff for their gates.", "Software", 2, 1,
           "Display controller lost its feed subscription; restarted it and the board "
           "refreshed."),
        _F("Gate screen at {gate} stuck on {flight}",
           "The gate screen at {gate} shows {flight}, which left an hour ago; the next "
           "flight boards from this gate.", "Software", 3, 2,
           "Gate screen player crashed; rebooted it remotely."),
        _F("Flight information displays show {flight} boarding, it is delayed",
           "All displays show {flight} as boarding while the airline posted a two-hour delay.",
           "Integration", 2, 2, "Delay message from the airline was rejected by a format "
           "check; resent it after fixing the mapping."),
        _F("Arrival screens in {terminal} baggage hall are dark",
           "The six arrival screens in the baggage hall of {terminal} are black.",
           "Power & facilities", 3, 2, "Power strip in the ceiling void had tripped; reset."),
    ),
    "docking": (
        _F("Docking guidance at stand {stand} dark",
           "The visual docking guidance at stand {stand} shows nothing; {flight} is on "
           "approach and will need a marshaller.", "Hardware", 2, 1,
           "Display unit power supply failed; replaced it from stores."),
        _F("Docking guidance at stand {stand} shows the wrong aircraft type",
           "Stand {stand} guidance shows A320 for {flight}, which is a 737-800; the stop "
           "position differs.", "Integration", 2, 1,
           "Aircraft type came from an old stand plan; refreshed the stand allocation feed."),
        _F("Stand {stand} docking laser gives 'STOP' early",
           "Guidance at stand {stand} shows STOP about two metres before the mark.",
           "Hardware", 2, 2, "Laser scanner misaligned after cleaning; recalibrated."),
    ),
    "radar": (
        _F("Approach radar track drops near runway 08",
           "Tracks disappear for 2-3 sweeps about 4 NM from the runway 08 threshold; "
           "controllers see it on every arrival.", "Hardware", 1, 1,
           "Sector blanking map corrupted after maintenance; restored the validated map."),
        _F("Secondary radar labels missing callsigns",
           "Radar labels at approach position 2 show squawk codes only, no callsigns.",
           "Integration", 1, 2,
           "Flight plan correlation service had stopped; restarted and verified."),
        _F("Radar display flickers at approach position {position}",
           "The radar picture at approach position {position} flickers every few seconds.",
           "Hardware", 2, 1, "Display graphics card overheating; replaced the fan unit."),
    ),
    "tower": (
        _F("Static on tower frequency at position {position}",
           "Heavy static on the tower frequency at position {position}; pilots ask for "
           "repeats.", "Hardware", 1, 1, "Corroded antenna connector; replaced the jumper."),
        _F("Controller headset at position {position} has no audio",
           "The headset at position {position} gives no audio; the controller uses the "
           "loudspeaker.", "Hardware", 2, 1, "Headset cable broken; replaced the headset."),
        _F("Voice recorder not archiving the tower channel",
           "The legal voice recorder shows no recordings for the tower channel since the "
           "night shift.", "Software", 2, 2,
           "Recorder disk full after a failed purge job; purged per retention policy and "
           "fixed the job."),
    ),
    "lighting": (
        _F("Lighting panel shows fault on taxiway C centreline",
           "Airfield lighting control panel reports a circuit fault on taxiway C "
           "centreline; tower cannot confirm the lights are on.", "Power & facilities", 1, 1,
           "Failed constant current regulator on circuit C2; switched to the standby unit."),
        _F("Runway edge lights respond slowly to brightness changes",
           "Brightness step changes take about 40 seconds to apply on runway 08/26.",
           "Software", 2, 2, "Control PLC scan time misconfigured; restored the setting."),
    ),
    "fuel": (
        _F("Fuel order for {flight} not reaching the bowser crew",
           "The fuel order for {flight} shows 'sent' but the bowser tablet never received it; "
           "turnaround is 35 minutes.", "Integration", 2, 1,
           "Tablet had lost its mobile data profile; re-enrolled and resent open orders."),
        _F("Hydrant meter at stand {stand} not reporting uplift",
           "Hydrant dispenser at stand {stand} delivers fuel but the uplift is not reported; "
           "crews write paper tickets.", "Hardware", 3, 2,
           "Meter transmitter battery flat; replaced and resynchronised."),
        _F("Fuel system shows all bowsers as unavailable",
           "The dispatch screen shows every bowser as 'unavailable' since the shift change.",
           "Software", 1, 1, "Shift roster import failed; re-ran the import."),
    ),
    "cargo": (
        _F("Cargo manifest for {flight} will not upload",
           "Uploading the cargo manifest for {flight} fails with 'schema validation error'.",
           "Integration", 2, 1, "A dangerous-goods code was in an old format; corrected it "
           "and uploaded."),
        _F("Warehouse scale 2 reads 40 kg heavy",
           "Scale 2 in the cargo warehouse shows about 40 kg more than scale 1 for the same "
           "pallet.", "Hardware", 3, 2, "Load cell drift; recalibrated with test weights."),
        _F("ULD tracker shows pallets in the wrong bay",
           "ULD tracking lists pallets for {flight} in bay 7; they are in bay 3.",
           "Software", 3, 3, "RFID gate in bay 3 was offline; restarted it and re-read tags."),
    ),
    "boarding": (
        _F("Boarding-pass reissue fails for {flight} after the gate change",
           "Reissuing boarding passes for {flight} after the move to {gate} gives "
           "'seat map locked'.", "Software", 2, 1,
           "Seat map lock left by the gate change; released it in the DCS with the airline."),
        _F("Gate reader at {gate} rejects reissued boarding passes",
           "The gate reader at {gate} beeps red for every reissued pass of {flight}.",
           "Integration", 2, 1, "Reader had a stale passenger list; forced a resync."),
        _F("Transfer desk printer prints boarding passes off the stock",
           "The transfer desk printer in {terminal} prints half off the boarding-pass stock.",
           "Hardware", 3, 3, "Stock guide loose; refitted and test-printed."),
        _F("How do I reissue a boarding pass for an infant on lap?",
           "New transfer desk staff member in {terminal} asks how to reissue a pass for a "
           "passenger travelling with an infant on lap.", "How-to & information", 3, 3,
           "Explained the infant reissue steps and sent the quick guide."),
    ),
    "catering": (
        _F("Catering order for {flight} missing special meals",
           "The order sent for {flight} has no special meals, though 6 were booked.",
           "Integration", 3, 2, "Special meal codes were filtered by a new rule; fixed the "
           "rule and resent the order."),
        _F("Catering system shows the wrong passenger count for {flight}",
           "Catering shows 96 passengers for {flight}; the load sheet says 174.",
           "Integration", 3, 2, "Count came from the previous aircraft type; refreshed it."),
    ),
    "dcs": (
        _F("Check-in takes 40 seconds per passenger for {airline}",
           "Every transaction with {airline}'s departure control takes about 40 seconds; "
           "the queue in {terminal} grows.", "Network", 1, 1,
           "Link was routed over the backup line after a fibre fault; switched back once "
           "the carrier repaired the fibre."),
        _F("Departure control link down for {airline}",
           "Agents cannot reach {airline}'s departure control; manual check-in started.",
           "Network", 1, 1, "Carrier router on the airline link rebooted; confirmed the "
           "tunnel came back and asked the carrier for the cause."),
    ),
    "network": (
        _F("Wi-Fi down around gate {gate}",
           "Staff tablets and passenger Wi-Fi are down around gate {gate}.", "Network", 2, 2,
           "Access point lost PoE after a switch port error; moved it to a healthy port."),
        _F("Comms room switch in {terminal} losing link",
           "Monitoring shows the distribution switch in {terminal} flapping every few "
           "minutes.", "Network", 1, 2, "Faulty SFP module; replaced it."),
        _F("Staff Wi-Fi asks for login again every 10 minutes",
           "Ramp staff tablets on staff Wi-Fi keep asking for credentials.", "Access", 3, 3,
           "Session timeout was set to 10 minutes by mistake; restored 12 hours."),
    ),
    "office": (
        _F("Cannot open the shared operations mailbox",
           "Operations duty managers get 'access denied' opening the shared mailbox.",
           "Access", 3, 2, "Mailbox permissions were reset by a sync; reapplied the group."),
        _F("Printer in the {terminal} operations office offline",
           "The printer in the {terminal} ops office shows offline on every PC.", "Hardware",
           3, 3, "Printer had a new IP after a power cut; set a reservation."),
        _F("How do I set an out-of-office reply?",
           "A duty manager asks how to set an automatic reply before leave.",
           "How-to & information", 3, 3, "Walked the caller through the out-of-office "
           "settings."),
    ),
    "access": (
        _F("New ramp agent's badge does not open airside door {door}",
           "A ramp agent who started today cannot pass door {door}; the reader flashes red.",
           "Access", 3, 1, "Badge was missing the airside profile; added it."),
        _F("Locked out of the departure control after password change",
           "A check-in supervisor in {terminal} is locked out after changing the password.",
           "Access", 3, 1, "Unlocked the account and explained the password rules."),
        _F("Need cargo system access for a new clerk",
           "Please give the new cargo clerk read access to the cargo handling system.",
           "Access", 3, 3, "Access granted with the clerk role after manager approval."),
    ),
}

_TRIED = {
    "kiosk": ("restarted the kiosk from the back panel", "tried another passport",
              "nothing yet", "switched the kiosk off and on"),
    "belt": ("pressed reset on the panel", "checked the emergency stops", "nothing yet"),
    "fids": ("switched the screen off and on", "checked the other screens", "nothing yet"),
    "docking": ("reset the local panel", "called the apron controller", "nothing yet"),
    "radar": ("switched to the backup display", "checked with the adjacent sector"),
    "tower": ("changed to the spare headset", "switched to the backup radio"),
    "lighting": ("switched to manual control", "checked the panel alarms"),
    "fuel": ("resent the order", "restarted the tablet", "nothing yet"),
    "cargo": ("tried the upload twice", "restarted the PC", "nothing yet"),
    "boarding": ("tried another workstation", "asked a colleague", "nothing yet"),
    "catering": ("resent the order", "checked the booking", "nothing yet"),
    "dcs": ("tried another workstation", "called the airline's help desk"),
    "network": ("restarted the tablet", "moved closer to another gate", "nothing yet"),
    "office": ("restarted the PC", "tried from another PC", "nothing yet"),
    "access": ("tried another door", "tried again after 10 minutes", "nothing yet"),
}

_QUESTIONS = (
    "Could you tell us the exact time it last happened and whether it affects every "
    "passenger or only some?",
    "Can you send a photo of the error on the screen, please?",
    "Is the fault still there right now? If yes, please stay near the unit so our engineer "
    "can call you.",
    "Which flights were affected? A flight number helps us find the logs.",
)
_ANSWERS = (
    "It happened again at about {time}; every passenger in the queue got it.",
    "Photo attached from my phone: the screen says 'device timeout'.",
    "Still there. I am at the desk next to it, call me on my mobile.",
    "{flight} and the flight after it were both affected.",
)
_REPLIES = (
    "Thanks for calling. We have logged this and a technician is looking at it now.",
    "We are on it. Expect an update within the hour.",
    "An engineer is on the way to you; please keep the unit as it is.",
    "We can reproduce the fault and are working on a fix.",
)
_VENDOR_FIXES = (
    "Replaced the faulty controller board with a spare from our van; tested under load.",
    "Firmware corrupted after a power dip: reflashed, restored the configuration, tested.",
    "Worn drive unit swapped; aligned and run for an hour without a fault.",
    "Loose connector in the field cabinet re-terminated; signal levels back to nominal.",
)
#: Each month's vendor budget in the demo (managers approve paid work against it).
MONTHLY_VENDOR_BUDGET = Decimal("9000.00")
_NOTES = (
    "Checked the logs: errors started at {time}, nothing changed on our side before that.",
    "Same symptom as a ticket two weeks ago; that one was fixed on site.",
    "Remote session shows the service running; suspect the device, not the software.",
    "Called the requester back; fault confirmed, they are using the workaround.",
    "Spares: one replacement unit in stores, reserved it for this ticket.",
)
_OVERRIDE_UP = (
    "VIP movement: state delegation departs from this area within the hour.",
    "Affects the last working unit in this terminal tonight.",
    "Safety-related: reported by the tower supervisor.",
    "Several flights in the next 30 minutes depend on it.",
)
_OVERRIDE_DOWN = (
    "Workaround in place: agents use the staffed desks until the morning.",
    "Spare unit running; the fault only affects the standby.",
)
_CANCEL_REASONS_REQUESTER = (
    "Raised by mistake, it works again after the restart.",
    "Sorry, a colleague already reported this by phone.",
)
_CANCEL_REASONS_STAFF = (
    "Planned maintenance announced in this morning's briefing; not a fault.",
    "Caller found the unit switched off at the wall; no fault.",
    "Requested work belongs to the airline's own IT; caller redirected to them.",
)

# --- the generator -----------------------------------------------------------------------

Step = tuple[float, Callable[[Ticket, datetime], object]]

#: Relative weights of target statuses by ticket age (older tickets are mostly done).
_MIX_OLD = ((Status.closed, 66), (Status.resolved, 8), (Status.cancelled, 8),
            (Status.in_progress, 5), (Status.pending_customer, 5), (Status.pending_vendor, 2),
            (Status.assigned, 4))
_MIX_MID = ((Status.closed, 20), (Status.resolved, 32), (Status.cancelled, 6),
            (Status.in_progress, 15), (Status.pending_customer, 9), (Status.pending_vendor, 4),
            (Status.assigned, 9), (Status.new, 3))
_MIX_RECENT = ((Status.new, 22), (Status.assigned, 18), (Status.in_progress, 22),
               (Status.pending_customer, 9), (Status.pending_vendor, 5), (Status.resolved, 19),
               (Status.cancelled, 5))
#: Relative ticket volume per UTC hour: an airport never sleeps, but nights are quiet.
_HOUR_WEIGHT = (2, 1, 1, 1, 2, 5, 9, 10, 10, 9, 8, 8, 8, 8, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2)
#: Minutes to respond / to work, by priority (low, high).
_RESPOND = {1: (2, 10), 2: (5, 30), 3: (10, 120), 4: (20, 240)}
_WORK = {1: (30, 180), 2: (60, 480), 3: (120, 1440), 4: (240, 2880)}


#: The demo desk's calendar (the default office calendar, renamed and widened).
DESK_HOURS_NAME = "Airport desk hours"


def seed(session: Session, *, now: datetime, tickets: int = 300, seed: int = 2026) -> str:
    """Fill an empty database with the airport-drill desk; return a printable summary.

    Refuses (Conflict) when any user exists, so demo data never mixes with real data.
    Flushes, never commits.
    """
    if now.tzinfo is None:
        raise ValueError("seed() needs an aware UTC datetime")
    if session.scalar(sa.select(sa.func.count(User.id))):
        raise Conflict("The database already has users; the demo is only seeded into an empty "
                       "database so it never mixes with real data.")
    if isinstance(tickets, bool) or not isinstance(tickets, int) or tickets < MIN_TICKETS:
        raise ValidationError(f"The demo needs at least {MIN_TICKETS} tickets.", field="tickets")
    return _DemoDesk(session, now=now, rng=random.Random(seed)).build(tickets, seed)


def logins_text() -> str:
    """The demo logins and the shared password, as printed by the summary and ``.ci/demo``."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    width = max(len(login.email) for login in LOGINS)
    for login in LOGINS:
        lines.append(f"  {login.email:<{width}}  {login.role.value:<9}  {login.name}: "
                     f"{login.does}")
    return "\n".join(lines)


class _DemoDesk:
    def __init__(self, session: Session, *, now: datetime, rng: random.Random) -> None:
        self.s = session
        self.now = now
        self.rng = rng
        self.start = now - HISTORY
        self.users: dict[str, User] = {}
        self.teams: dict[str, Group] = {}
        self.services: list[tuple[Service, ServiceSpec]] = []
        self.categories: dict[str, Category] = {}
        self.vendors: dict[str, Vendor] = {}
        self.requesters: list[User] = []
        self.engagement_of: dict[int, VendorEngagement] = {}
        self.children: dict[int, list[Ticket]] = {}
        self.overrides = 0
        self.engagements = 0
        self.rejected: set[int] = set()  # tickets whose vendor request a manager turned down
        #: Creation events still to run: (time, sequence, make(time)); numbers follow time.
        self.pending: list[tuple[datetime, int, Callable[[datetime], object]]] = []
        self.sequence = itertools.count()

    # --- reference data ----------------------------------------------------------------

    def build(self, count: int, seed_value: int) -> str:
        self._people()
        self._desk_hours()
        self._budgets()
        self._catalog()
        token = self._monitoring_token()
        self._tickets(count)
        self.s.flush()
        self.knowledge = self._knowledge()
        self.feedback = self._feedback()
        return self._summary(count, seed_value, token)

    def _budgets(self) -> None:
        """A vendor budget for every month of the history (approvals draw on them)."""
        manager = self.users["manager@demo.test"]
        month = self.start.date().replace(day=1)
        while month <= self.now.date():
            following = (month + timedelta(days=32)).replace(day=1)
            escalation.set_budget(self.s, actor=manager, period_start=month,
                                  period_end=following - timedelta(days=1),
                                  amount=MONTHLY_VENDOR_BUDGET)
            month = following

    def _desk_hours(self) -> None:
        """An airport works every day: the P2-P4 policies' office calendar (09-17 on weekdays
        by default) becomes the desk's hours, 06:00-22:00 every day, so that a ticket logged on
        a Saturday or at 07:00 counts business time (with office hours most of them would
        count none, and the dashboard's business-time MTTA would read 0 min)."""
        from servicedesk.sla import admin as sla_admin
        from servicedesk.sla.models import Calendar

        office = self.s.scalar(sa.select(Calendar).where(Calendar.name == "Business hours"))
        if office is None:  # a database without the default policies: nothing to adjust
            return
        sla_admin.update_calendar(
            self.s, office, actor=self.users["admin@demo.test"], name=DESK_HOURS_NAME,
            timezone="UTC", weekly={day: ["06:00-22:00"] for day in
                                    ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            now=self.start)

    def _knowledge(self) -> str:
        """Articles, their usage and a known error (servicedesk/knowledge/demo.py)."""
        from servicedesk.knowledge import demo as knowledge_demo

        by_kind: dict[str, list[Service]] = {}
        for service, spec in self.services:
            by_kind.setdefault(spec.kind, []).append(service)
        return knowledge_demo.seed(self.s, now=self.now, rng=self.rng, services_by_kind=by_kind)

    def _feedback(self) -> str:
        """Survey answers and unmet requests (servicedesk/feedback/demo.py)."""
        from servicedesk.feedback import demo as feedback_demo

        return feedback_demo.seed(self.s, now=self.now, start=self.start, rng=self.rng,
                                  agents=self.desk_agents)

    def _user(self, email: str, name: str, role: Role, *, vendor: Vendor | None = None,
              phone: str | None = None, password: bool = True) -> User:
        user = accounts.create_user(self.s, email=email, name=name, role=role, vendor=vendor,
                                    phone=phone, now=self.start - timedelta(days=90))
        if password:
            user.password_hash = self.password_hash
        self.users[email] = user
        return user

    def _people(self) -> None:
        # scrypt is deliberately slow: hash the shared password once for every demo account.
        self.password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
        self.vendors["skytech"] = accounts.create_vendor(
            self.s, name="SkyTech Field Services", contact_email="dispatch@skytech.demo.test",
            cost_model="fixed", rate=Decimal("450.00"), ola_response_minutes=60,
            ola_fix_minutes=480)
        self.vendors["nordic"] = accounts.create_vendor(
            self.s, name="Nordic Radar Systems", contact_email="support@nordicradar.demo.test",
            cost_model="hourly", rate=Decimal("180.00"), ola_response_minutes=30,
            ola_fix_minutes=240)
        for login in LOGINS:
            vendor = None
            if login.role is Role.vendor:
                vendor = self.vendors["skytech" if "skytech" in login.email else "nordic"]
            self._user(login.email, login.name, login.role, vendor=vendor)
        self._user("field2@skytech.demo.test", "Noah Fischer", Role.vendor,
                   vendor=self.vendors["skytech"])
        for email, name in _MORE_AGENTS:
            self._user(email, name, Role.agent)
        desk_agents = [self.users[e] for e in ("agent@demo.test", "dispatcher@demo.test")]
        desk_agents += [self.users[e] for e, _ in _MORE_AGENTS]
        self.teams["desk"] = accounts.create_group(
            self.s, name="Service Desk", tier=1, dispatcher=self.users["dispatcher@demo.test"],
            manager=self.users["manager@demo.test"], members=desk_agents,
            description="Front line: logs every call, fixes at first contact, escalates.")
        for team in EXPERT_TEAMS:
            dispatcher = self._user(*team.dispatcher, Role.expert)
            manager = self._user(*team.manager, Role.manager)
            experts = [self.users[team.expert_login]]
            experts += [self._user(e, n, Role.expert) for e, n in team.more_experts]
            self.teams[team.name] = accounts.create_group(
                self.s, name=team.name, tier=2, dispatcher=dispatcher, manager=manager,
                members=[dispatcher, *experts], description=team.description)
        self.monitoring = self._user(*_MONITORING, Role.agent, password=False)
        self.aoc = self._user(*_AOC, Role.requester, phone="+1-555-0100")
        main_requester = self.users["requester@demo.test"]
        main_requester.phone = "+1-555-0101"
        self.requesters.append(main_requester)
        for i, (name, org) in enumerate(_REQUESTERS):
            email = name.lower().replace("'", "").replace(" ", ".") + "@" + _ORGS[org]
            self.requesters.append(self._user(email, name, Role.requester,
                                              phone=f"+1-555-{200 + i:04d}"))
        self.desk_agents = desk_agents

    def _catalog(self) -> None:
        for name in CATEGORIES:
            self.categories[name] = catalog.create_category(self.s, name=name)
        for spec in _service_specs():
            service = catalog.create_service(
                self.s, name=spec.name, description=spec.description,
                criticality=spec.criticality, expert_group=self.teams[_TEAM_KEYS[spec.team]])
            self.services.append((service, spec))

    def _monitoring_token(self) -> str:
        _, secret = accounts.issue_token(self.s, self.monitoring, name="Airport monitoring",
                                         now=self.start - timedelta(days=30))
        return secret

    # --- tickets -----------------------------------------------------------------------

    def _tickets(self, count: int) -> None:
        rng, now = self.rng, self.now
        story_tickets = 5 + 4 + 2 + 2  # two major incidents (1 + 4, 1 + 3), two duplicate pairs
        self._later(_at(now - timedelta(days=9), 7, 40),
                    lambda t: self._major_incident(t, resolved=True))
        self._later(now - timedelta(hours=3, minutes=20),
                    lambda t: self._major_incident(t, resolved=False))
        self._later(_at(now - timedelta(days=15), 10, 5), self._duplicate_pair)
        self._later(_at(now - timedelta(days=3), 14, 30), self._duplicate_pair)
        regular = count - story_tickets
        times = self._creation_times(regular)
        targets = self._targets(times)
        override_at = set(rng.sample(range(regular), max(3, regular // 30)))
        for i, (t, target) in enumerate(zip(times, targets)):
            self._later(t, lambda t, target=target, i=i: self._regular(
                t, target, override=i in override_at))
        # Create in time order (stories add their follow-up tickets as they go), so ticket
        # numbers follow creation time.
        while self.pending:
            t, _, make = heapq.heappop(self.pending)
            make(t)

    def _later(self, when: datetime, make: Callable[[datetime], object]) -> None:
        heapq.heappush(self.pending, (when, next(self.sequence), make))

    def _creation_times(self, n: int) -> list[datetime]:
        rng = self.rng
        latest = self.now - timedelta(minutes=5)
        span = (latest - self.start).total_seconds()
        times: list[datetime] = []
        while len(times) < n:
            t = self.start + timedelta(seconds=int(rng.random() * span))
            if rng.random() * 10 < _HOUR_WEIGHT[t.hour]:
                times.append(t)
        return sorted(times)

    def _targets(self, times: list[datetime]) -> list[Status]:
        rng = self.rng
        targets = []
        for t in times:
            age_days = (self.now - t).total_seconds() / 86400
            mix = _MIX_OLD if age_days > 7 else _MIX_MID if age_days > 2 else _MIX_RECENT
            statuses, weights = zip(*mix)
            targets.append(rng.choices(statuses, weights=weights)[0])
        # Make sure every status appears: put a missing one where it is plausible by age.
        n = len(targets)
        for status in Status:
            if status in targets:
                continue
            early = status in (Status.closed, Status.resolved, Status.cancelled)
            pool = range(0, n // 3) if early else range(n - n // 3, n)
            counts = Counter(targets)
            candidates = [i for i in pool if counts[targets[i]] > 1]
            targets[rng.choice(candidates)] = status
        return targets

    # --- one regular ticket --------------------------------------------------------------

    def _regular(self, created_at: datetime, target: Status, *, override: bool) -> Ticket:
        rng = self.rng
        service, spec = rng.choice(self.services)
        fault = rng.choice(FAULTS[spec.kind])
        place = self._place(spec)
        channel = self._channel(spec, target)
        if channel is Channel.monitoring:
            actor, requester = self.monitoring, self.aoc
        elif channel is Channel.api:
            actor, requester = self.monitoring, self._requester()
        elif channel is Channel.web:
            requester = self._requester()
            actor = requester
        else:
            actor, requester = rng.choice(self.desk_agents), self._requester()
        agent = actor if actor in self.desk_agents else rng.choice(self.desk_agents)
        impact, urgency = _jitter(rng, fault.impact), _jitter(rng, fault.urgency)
        kwargs: dict = {}
        steps: list[Step] = []
        prio = priority_for(impact, urgency)
        if override:
            new_prio, reason = self._override(prio)
            if actor.is_staff and channel is not Channel.monitoring:
                kwargs.update(priority=new_prio, priority_reason=reason)
                prio = new_prio
            else:
                steps.append((rng.uniform(*_RESPOND[prio]), lambda t, now, p=new_prio, r=reason:
                              tickets.update_ticket(self.s, t, actor=agent, now=now, priority=p,
                                                    priority_reason=r)))
                prio = new_prio
            self.overrides += 1
        if prio == 1 and target in (Status.new, Status.assigned, Status.in_progress) \
                and self.now - created_at > timedelta(days=2):
            target = Status.closed  # nobody leaves a critical fault being worked on for days
        take_at_intake = actor is agent and target is not Status.new and rng.random() < 0.6
        if actor is agent:
            kwargs["group_id"] = self.teams["desk"].id
            if take_at_intake:
                kwargs["assignee_id"] = agent.id

        ticket = tickets.create_ticket(
            self.s, actor=actor, requester=requester, channel=channel,
            title=fault.title.format(**place),
            description=self._description(fault, spec, place, channel, requester, created_at),
            impact=impact, urgency=urgency, service_id=service.id,
            category_id=self.categories[fault.category].id, now=created_at, **kwargs)

        if target is Status.cancelled and channel is Channel.web and rng.random() < 0.7:
            # The requester withdraws it from the portal while it is still new.
            steps.append((rng.uniform(2, 30), self._status(
                Status.cancelled, requester, comment=rng.choice(_CANCEL_REASONS_REQUESTER))))
        elif target is not Status.new:
            if not take_at_intake:
                steps.append((rng.uniform(*_RESPOND[prio]), self._assign(
                    self.teams["desk"], agent, self.users["dispatcher@demo.test"])))
            steps += self._path(target, service, spec, fault, place, agent, requester, prio,
                                channel, fcr_possible=take_at_intake)
        return self._run(ticket, steps)

    def _path(self, target: Status, service: Service, spec: ServiceSpec, fault: Fault,
              place: dict, agent: User, requester: User, prio: int, channel: Channel, *,
              fcr_possible: bool) -> list[Step]:
        """Steps from ``assigned`` (to the desk agent) to ``target``."""
        rng = self.rng
        work, respond = _WORK[prio], _RESPOND[prio]
        team = service.expert_group
        steps: list[Step] = []
        if target is Status.assigned:
            if rng.random() < 0.4:
                steps += self._escalate(team, agent, respond, start=False)
            return steps
        if target is Status.cancelled:
            return [(rng.uniform(*respond), self._status(Status.in_progress, agent)),
                    (rng.uniform(5, 60), self._status(Status.cancelled, agent,
                                                      comment=rng.choice(_CANCEL_REASONS_STAFF)))]
        done = target in (Status.resolved, Status.closed)
        if done and fcr_possible and rng.random() < 0.45:
            # First-contact resolution: the agent on the phone fixes it while the caller waits.
            steps.append((rng.uniform(3, 15), self._resolve(agent, fault, "user_guidance"
                          if fault.category == "How-to & information" else "fixed")))
            return steps + self._close(requester, agent, target)
        steps.append((rng.uniform(*respond), self._status(Status.in_progress, agent)))
        if rng.random() < 0.7:
            steps.append((rng.uniform(1, 10), self._comment(agent, rng.choice(_REPLIES))))
        variant = rng.random()
        needs_vendor = target is Status.pending_vendor or (
            done and variant < 0.06 and fault.category != "How-to & information")
        needs_expert = needs_vendor or variant < 0.55 or (
            target is Status.in_progress and variant < 0.7)
        owner = agent
        if needs_expert:
            owner = self._pick_expert(team)
            steps += self._escalate(team, agent, respond, start=True, expert=owner)
            steps.append((rng.uniform(10, 60), self._comment(
                owner, rng.choice(_NOTES).format(**place), public=False)))
        if target is Status.in_progress:
            if needs_expert and rng.random() < 0.1:  # waiting for a manager's approval
                steps += self._engage_vendor(owner, team, self._vendor_for(spec),
                                             until="requested")
            return steps
        asks_customer = target is Status.pending_customer or (
            done and not needs_vendor and 0.55 <= variant < 0.75)
        if asks_customer:
            steps.append((rng.uniform(*work) / 3, self._comment(owner, rng.choice(_QUESTIONS))))
            steps.append((0.5, self._status(Status.pending_customer, owner)))
            if target is Status.pending_customer:
                return steps
            steps.append((rng.uniform(30, 600), self._comment(
                requester, rng.choice(_ANSWERS).format(**place))))
        if needs_vendor:
            steps += self._engage_vendor(owner, team, self._vendor_for(spec),
                                         until="verified" if done else "approved")
            if target is Status.pending_vendor:
                return steps
        steps.append((rng.uniform(*work), self._resolve(owner, fault, "workaround"
                      if rng.random() < 0.15 else "fixed")))
        if done and rng.random() < 0.08:
            # The requester rejects the resolution; the owner fixes it for good.
            steps.append((rng.uniform(60, 600), self._status(
                Status.in_progress, requester, comment="It failed again this morning, "
                "same error as before.")))
            steps.append((rng.uniform(*work), self._resolve(owner, fault, "fixed")))
        return steps + self._close(requester, agent, target)

    def _close(self, requester: User, agent: User, target: Status) -> list[Step]:
        if target is not Status.closed:
            return []
        if self.rng.random() < 0.4:
            return [(self.rng.uniform(30, 1440), self._status(
                Status.closed, requester, comment="Confirmed, it works. Thank you."))]
        return [(self.rng.uniform(3 * 1440, 4 * 1440), self._status(
            Status.closed, agent, comment="Closed after three days without a reply."))]

    def _escalate(self, team: Group, agent: User, respond: tuple[float, float], *,
                  start: bool, expert: User | None = None) -> list[Step]:
        """Hand over to the expert team; its dispatcher assigns an expert."""
        rng = self.rng
        expert = expert or self._pick_expert(team)
        steps: list[Step] = [
            (rng.uniform(2, 20), self._comment(
                agent, f"Escalating to {team.name}: not solvable at the desk.", public=False)),
            (0.5, self._assign(team, None, agent)),
            (rng.uniform(*respond), self._assign(team, expert, team.dispatcher)),
        ]
        if start:
            steps.append((rng.uniform(*respond), self._start_if_needed(expert)))
        return steps

    def _vendor_for(self, spec: ServiceSpec) -> Vendor:
        return self.vendors["nordic" if spec.kind in RADAR_VENDOR_KINDS else "skytech"]

    def _engage_vendor(self, owner: User, team: Group, vendor: Vendor, *,
                       until: str = "approved") -> list[Step]:
        """Paid vendor work through the real workflow (escalation/services.py): the expert
        asks with an estimate; a manager approves it against the month's budget (the ticket
        goes to tier 3, pending vendor, and the vendor's OLA clocks start); the vendor's
        engineer accepts and reports the fix with its actual cost; the expert verifies it
        (back to tier 2, in progress). ``until``: "requested" (awaiting a manager),
        "approved" (most then accepted by the vendor) or "verified"."""
        rng = self.rng
        manager = self.users["manager@demo.test"] if rng.random() < 0.6 else team.manager
        engineer = rng.choice(vendor.users)
        hours = rng.choice((2, 3, 4, 6))
        hourly = vendor.cost_model == "hourly"
        estimate = vendor.rate * (hours if hourly else 1)
        actual = vendor.rate * max(1, hours + rng.choice((-1, 0, 0, 1, 2))) if hourly else estimate
        reason = (f"Needs {vendor.name}: the fault is in equipment under their contract and "
                  "no spare is held on site.")

        def request(ticket: Ticket, now: datetime) -> None:
            self.engagement_of[ticket.id] = escalation.request_engagement(
                self.s, ticket, actor=owner, vendor_id=vendor.id, reason=reason,
                estimated_cost=estimate, now=now)
            self.engagements += 1

        def approve(ticket: Ticket, now: datetime) -> None:
            engagement = self.engagement_of[ticket.id]
            try:
                with self.s.begin_nested():
                    escalation.approve_engagement(self.s, engagement, actor=manager, now=now,
                                                  note="Within this month's budget.")
            except Conflict as refused:  # the month's budget is spent: the manager says no
                escalation.reject_engagement(self.s, engagement, actor=manager, now=now,
                                             note=f"Not this month: {refused}")
                self.rejected.add(ticket.id)

        def approved(step: Callable) -> Callable:
            """``step`` for a ticket whose vendor work was approved (a no-op otherwise)."""
            return lambda t, now: None if t.id in self.rejected else step(t, now)

        def accept(ticket: Ticket, now: datetime) -> None:
            escalation.acknowledge_engagement(self.s, self.engagement_of[ticket.id],
                                              actor=engineer, now=now)

        def fixed(ticket: Ticket, now: datetime) -> None:
            escalation.mark_fixed(self.s, self.engagement_of[ticket.id], actor=engineer,
                                  now=now, actual_cost=actual, notes=rng.choice(_VENDOR_FIXES))

        def verify(ticket: Ticket, now: datetime) -> None:
            escalation.verify_fix(self.s, self.engagement_of[ticket.id], actor=owner, now=now)

        steps: list[Step] = [(rng.uniform(15, 90), request)]
        if until == "requested":
            return steps
        steps += [(rng.uniform(10, 60), approve),
                  (0.5, approved(self._comment(owner, f"Waiting for {vendor.name}'s engineer.")))]
        # Most engineers accept within the vendor's OLA response target and fix within its
        # fix target (both counted from the approval); some are late.
        accept_after = vendor.ola_response_minutes * rng.uniform(0.3, 1.4)
        if until == "verified" or rng.random() < 0.7:
            steps.append((accept_after, approved(accept)))
        if until == "verified":
            fix_after = (vendor.ola_fix_minutes - accept_after) * rng.uniform(0.4, 1.15)
            steps += [(max(fix_after, 10), approved(fixed)),
                      (rng.uniform(10, 60), approved(verify))]
        return steps

    # --- stories -----------------------------------------------------------------------

    def _major_incident(self, created_at: datetime, *, resolved: bool) -> None:
        """A P1 parent with child tickets from everyone it hurts, linked as they arrive."""
        rng = self.rng
        agent = self.users["agent@demo.test"]
        if resolved:
            service = self._service("Approach radar")
            title = "Approach radar: primary picture lost on all approach positions"
            description = ("Tower supervisor reports the primary radar picture lost on every "
                           "approach position at once; secondary labels still show. Arrivals "
                           "put on procedural separation, 12 flights holding.")
            children = (
                ("Control tower communications", "Tower position 2: no radar picture",
                 "Position 2 controller lost the radar picture; working procedurally.", 2, 1),
                ("Terminal 3 flight information displays",
                 "Terminal 3 arrival boards show every arrival delayed",
                 "Arrival boards in Terminal 3 show all arrivals delayed; passengers crowd "
                 "the information desk.", 2, 2),
                ("Fuel management", "Bowser schedule broken: aircraft holding, fuel orders "
                 "late", "Aircraft holding means every fuel order is off schedule; crews ask "
                 "for a new plan.", 3, 2),
                ("Terminal 1 docking guidance", "Stands in Terminal 1 waiting for held "
                 "arrivals", "Docking guidance is idle at 8 stands; the apron asks when "
                 "arrivals resume.", 3, 2),
            )
        else:
            service = self._service("Terminal 2 baggage belts")
            title = "Terminal 2: all baggage drop belts stopped"
            description = ("Every bag drop belt in Terminal 2 stopped at once; the sorter "
                           "panel shows 'PLC communication lost'. Check-in for four airlines "
                           "is taking bags by hand.")
            children = (
                ("Terminal 2 check-in kiosks", "Terminal 2 kiosks cannot print bag tags",
                 "Kiosks refuse bag tags since the belts stopped: 'bag drop unavailable'.", 2,
                 1),
                ("Terminal 2 baggage belts", "Belt 4 in Terminal 2 stopped during the "
                 "SkyLink wave", "Belt 4 stopped with bags on it during the SkyLink wave.", 3,
                 1),
                ("Terminal 2 flight information displays", "Bag-drop screens in Terminal 2 "
                 "show 'closed'", "The bag-drop screens show 'closed' over open desks.", 3, 2),
            )
        parent = tickets.create_ticket(
            self.s, actor=agent, requester=self.aoc if resolved else self.users[
                "requester@demo.test"], title=title, description=description,
            channel=Channel.phone, impact=1, urgency=1, service_id=service.id,
            category_id=self.categories["Hardware"].id, group_id=self.teams["desk"].id,
            assignee_id=agent.id, now=created_at)
        team = service.expert_group
        expert = self._pick_expert(team)
        steps: list[Step] = [
            (3, self._comment(agent, "Major incident declared; all related calls are linked "
                                     "here. Updates every 30 minutes.")),
            *self._escalate(team, agent, (2, 6), start=True, expert=expert),
            (15, self._comment(expert, "Processor board alarm on the radar head; switching to "
                                       "the standby channel failed." if resolved else
                                       "Sorter PLC lost its network link; on-site check "
                                       "under way.", public=False)),
        ]
        if resolved:
            steps += self._engage_vendor(expert, team, self.vendors["nordic"], until="verified")
            steps += [
                (40, self._resolve(expert, None, "fixed", notes=(
                    "Nordic Radar Systems replaced the processor board; standby channel "
                    "switch-over repaired and tested. Picture restored on all positions."))),
                (2, self._resolve_children),
                (26 * 60, self._status(Status.closed, self.users["manager@demo.test"],
                                       comment="Post-incident review held; problem record "
                                               "opened for the failed switch-over.")),
            ]
        self.children[parent.id] = []
        self._run(parent, steps)
        t = created_at
        for child in children:
            t += timedelta(minutes=rng.randint(4, 12))
            self._later(t, lambda now, child=child: self._child(parent, child, now,
                                                               resolved=resolved))

    def _resolve_children(self, parent: Ticket, now: datetime) -> None:
        """The desk resolves every open child with the major incident, and closes them later."""
        dispatcher = self.users["dispatcher@demo.test"]
        for child in self.children[parent.id]:
            if not child.is_open:
                continue
            tickets.change_status(
                self.s, child, Status.resolved, actor=dispatcher, now=now,
                resolution_code="fixed", resolution_notes=(
                    f"Resolved with the major incident {parent.number}: service restored."))
            self._run(child, [(3 * 1440, self._status(
                Status.closed, dispatcher, comment="Closed with the major incident."))])

    def _child(self, parent: Ticket, child: tuple[str, str, str, int, int],
               created_at: datetime, *, resolved: bool) -> None:
        """One more call about a major incident: logged, linked to the parent, resolved with it."""
        service_name, title, description, impact, urgency = child
        dispatcher = self.users["dispatcher@demo.test"]
        ticket = tickets.create_ticket(
            self.s, actor=dispatcher, requester=self._requester(), title=title,
            description=description, channel=Channel.phone, impact=impact, urgency=urgency,
            service_id=self._service(service_name).id,
            category_id=self.categories["Hardware"].id, group_id=self.teams["desk"].id,
            now=created_at)
        steps: list[Step] = [
            (2, lambda c, now: tickets.link(self.s, c, actor=dispatcher, now=now,
                                            parent_id=parent.id)),
            (1, self._comment(dispatcher, f"Part of major incident {parent.number}; "
                                          "you will get its updates here.")),
        ]
        # Children of a resolved incident are resolved with it (_resolve_children).
        self.children[parent.id].append(ticket)
        if not resolved and impact == 2:
            steps.append((3, lambda c, now: tickets.update_ticket(
                self.s, c, actor=dispatcher, now=now, priority=1,
                priority_reason=f"Same cause as major incident {parent.number}.")))
            self.overrides += 1
        self._run(ticket, steps)

    def _duplicate_pair(self, created_at: datetime) -> None:
        """A caller reports the same fault twice (portal, then phone); the desk links them."""
        rng = self.rng
        requester = self._requester()
        agent = rng.choice(self.desk_agents)
        service = self._service("Boarding-pass reissue")
        fault = FAULTS["boarding"][0]
        place = self._place(ServiceSpec(service.name, "boarding", 2, "terminal", "",
                                        rng.randint(1, 4)))
        title = fault.title.format(**place)
        original = tickets.create_ticket(
            self.s, actor=requester, requester=requester, channel=Channel.web, title=title,
            description=fault.detail.format(**place), impact=2, urgency=1,
            service_id=service.id, category_id=self.categories[fault.category].id,
            now=created_at)
        self._run(original, [
            (8, self._assign(self.teams["desk"], agent, self.users["dispatcher@demo.test"])),
            (4, self._status(Status.in_progress, agent)),
            (30, self._resolve(agent, fault, "fixed")),
            (26 * 60, self._status(Status.closed, requester, comment="Works now, thanks.")),
        ])

        def duplicate(now: datetime) -> None:
            ticket = tickets.create_ticket(
                self.s, actor=agent, requester=requester, channel=Channel.phone,
                title=f"Caller chasing: {title}"[:200], description=(
                    "Caller phoned about the same fault they logged on the portal a few "
                    "minutes ago; passengers are waiting at the gate."),
                impact=2, urgency=1, service_id=service.id,
                category_id=self.categories[fault.category].id,
                group_id=self.teams["desk"].id, assignee_id=agent.id, now=now)
            self._run(ticket, [
                (2, lambda d, at: tickets.link(self.s, d, actor=agent, now=at,
                                               duplicate_of_id=original.id)),
                (1, self._resolve(agent, None, "duplicate", notes=(
                    f"Duplicate of {original.number}; updates go there."))),
                (3 * 1440, self._status(Status.closed, agent,
                                        comment="Closed as a duplicate.")),
            ])

        self._later(created_at + timedelta(minutes=rng.randint(3, 6)), duplicate)

    # --- small builders ----------------------------------------------------------------

    def _run(self, ticket: Ticket, steps: list[Step]) -> Ticket:
        """Schedule the ticket's steps at increasing times after its creation, all before now.

        Delays are minutes; a story that would run past ``now`` is compressed to fit. Steps
        run from the global queue, so every write in the desk happens in time order.
        """
        total = sum(delay for delay, _ in steps)
        budget = (self.now - timedelta(minutes=1) - ticket.created_at).total_seconds() / 60
        scale = min(1.0, max(budget, 0.0) / total) if total > 0 else 1.0
        t = ticket.created_at
        for delay, action in steps:
            t += timedelta(seconds=round(delay * scale * 60))
            self._later(t, lambda now, action=action: action(ticket, now))
        return ticket

    def _assign(self, group: Group, person: User | None, actor: User) -> Callable:
        return lambda t, now: tickets.assign(self.s, t, actor=actor, now=now, group_id=group.id,
                                             assignee_id=person.id if person else None)

    def _status(self, target: Status, actor: User, **kw) -> Callable:
        return lambda t, now: tickets.change_status(self.s, t, target, actor=actor, now=now,
                                                    **kw)

    def _start_if_needed(self, actor: User) -> Callable:
        def start(ticket: Ticket, now: datetime) -> None:
            if ticket.status is not Status.in_progress:
                tickets.change_status(self.s, ticket, Status.in_progress, actor=actor, now=now)
        return start

    def _comment(self, actor: User, body: str, *, public: bool = True) -> Callable:
        return lambda t, now: tickets.add_comment(self.s, t, actor=actor, now=now, body=body,
                                                  is_public=public)

    def _resolve(self, actor: User, fault: Fault | None, code: str, *,
                 notes: str | None = None) -> Callable:
        return self._status(Status.resolved, actor, resolution_code=code,
                            resolution_notes=notes or fault.fix)

    def _override(self, prio: int) -> tuple[int, str]:
        if prio >= 3 or (prio == 2 and self.rng.random() < 0.7):
            return max(1, prio - 1), self.rng.choice(_OVERRIDE_UP)
        return min(4, prio + 1), self.rng.choice(_OVERRIDE_DOWN)

    def _pick_expert(self, team: Group) -> User:
        experts = [m for m in team.members if m.id != team.dispatcher_id]
        return self.rng.choice(experts or team.members)

    def _requester(self) -> User:
        # The documented requester logs a fair share, so the portal demo has content.
        if self.rng.random() < 0.08:
            return self.requesters[0]
        return self.rng.choice(self.requesters)

    def _service(self, name: str) -> Service:
        return next(service for service, _ in self.services if service.name == name)

    def _channel(self, spec: ServiceSpec, target: Status) -> Channel:
        roll = self.rng.random()
        if spec.kind in MONITORED and roll < 0.22:
            return Channel.monitoring
        if roll < 0.30:
            return Channel.api  # airline and handling systems post faults through the API
        if roll < 0.47 or (target is Status.cancelled and roll < 0.6):
            return Channel.web
        if roll < 0.65:
            return Channel.email
        return Channel.phone

    def _place(self, spec: ServiceSpec) -> dict:
        rng = self.rng
        n = spec.terminal or rng.randint(1, 4)
        airline, code = rng.choice((("SkyLink Airways", "SL"), ("Nordwind Air", "NW"),
                                    ("Pacific Crest", "PC"), ("Aurora Express", "AX")))
        return {
            "terminal": TERMINALS[n - 1], "airline": airline,
            "flight": f"{code}{rng.randint(100, 1999)}",
            "gate": f"{'ABCD'[n - 1]}{rng.randint(1, 30)}",
            "stand": f"{n}{rng.randint(1, 40):02d}", "belt": rng.randint(1, 12),
            "kiosk": rng.randint(1, 40), "door": f"{'ABCD'[n - 1]}-{rng.randint(10, 99)}",
            "position": rng.randint(1, 6), "time": f"{rng.randint(5, 22):02d}:"
                                                    f"{rng.randint(0, 59):02d}",
        }

    def _description(self, fault: Fault, spec: ServiceSpec, place: dict, channel: Channel,
                     requester: User, now: datetime) -> str:
        detail = fault.detail.format(**place)
        noticed = now - timedelta(minutes=self.rng.randint(2, 45))
        if channel is Channel.monitoring:
            return (f"Automatic alert from airport monitoring.\n\n{detail}\n\n"
                    f"First seen: {noticed:%Y-%m-%d %H:%M} UTC\nProbe: "
                    f"{spec.kind}-{place['terminal'][-1]}-{self.rng.randint(1, 20):02d}")
        contact = requester.name + (f", {requester.phone}" if requester.phone else "")
        return (f"{detail}\n\nLocation: {place['terminal']}\n"
                f"Noticed: {noticed:%H:%M} UTC\n"
                f"Already tried: {self.rng.choice(_TRIED[spec.kind])}\n"
                f"Contact: {contact}")

    # --- summary -----------------------------------------------------------------------

    def _summary(self, count: int, seed_value: int, token: str) -> str:
        by_status = dict(self.s.execute(sa.select(Ticket.status, sa.func.count(Ticket.id))
                                        .group_by(Ticket.status)).all())
        by_role = Counter(user.role for user in self.users.values())
        status_text = ", ".join(f"{s.label} {by_status.get(s, 0)}" for s in Status)
        role_text = ", ".join(f"{by_role[r]} {r.value}" for r in Role)
        groups = ", ".join(f"{g.name} (tier {g.tier}, dispatcher {g.dispatcher.name})"
                           for g in self.teams.values())
        return "\n".join([
            f"Demo service desk seeded (seed {seed_value}): the airport drill, "
            f"{len(TERMINALS)} terminals.",
            f"  {len(self.services)} services, {len(self.categories)} categories, "
            f"{len(self.vendors)} vendors (SkyTech Field Services: fixed price; "
            "Nordic Radar Systems: hourly)",
            f"  groups: {groups}",
            f"  users: {role_text}",
            f"  {count} tickets over the last {HISTORY.days} days: {status_text}",
            f"  {self.overrides} priority overrides, {self.engagements} vendor engagements, "
            "2 major incidents, 2 duplicates",
            self.knowledge,
            self.feedback,
            "",
            logins_text(),
            "  (more staff share the password: agent2..agent4@demo.test, "
            "airside|terminal|network.dispatcher@demo.test, "
            "airside|terminal|network.manager@demo.test)",
            "",
            f"API token of {self.monitoring.email} (shown once, for POST /api/v1/tickets):",
            f"  {token}",
        ])


def _jitter(rng: random.Random, level: int) -> int:
    """A typical impact/urgency, sometimes one step either way."""
    if rng.random() < 0.3:
        level += rng.choice((-1, 1))
    return min(3, max(1, level))


def _at(day: datetime, hour: int, minute: int) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)
