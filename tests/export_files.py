"""Realistic CRM and help-desk exports for the preset tests, written deterministically (a seeded
random generator): each tool's own column names, value vocabulary, date format, encoding and
separator, as the tool's documentation describes its export (docs/presets.md).

Each writer returns the file's path; the tests compute their expectations from the file itself
with pandas, never with the code under test.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import uuid
from pathlib import Path

FIRST = ["Anna", "Ben", "Chloé", "David", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kai", "Lena"]
LAST = ["Müller", "Smith", "O'Brien", "García", "Novak", "Dubois", "Rossi", "Kowalski", "Jensen", "Ivanova"]
AGENTS = ["Maria Lopez", "Tom Becker", "Aisha Khan", "Peter Olsen", ""]


def _write(path: Path, headers: list[str], rows: list[list[str]], *, delimiter: str = ",", bom: bool = False,
           encoding: str = "utf-8", crlf: bool = False) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quotechar='"', lineterminator="\r\n" if crlf else "\n",
                   quoting=csv.QUOTE_MINIMAL)
    w.writerow(headers)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _when(rng: random.Random, start: dt.datetime, days: int) -> dt.datetime:
    return start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))


def zendesk_tickets(path: Path, n: int = 400, seed: int = 7) -> Path:
    """Zendesk Support tickets export: comma, UTF-8, timestamps ``2025-02-02 03:25:00 +0100``."""
    rng = random.Random(seed)
    headers = ["Summation column", "Id", "Requester", "Requester id", "Requester external id", "Requester email",
               "Submitter", "Assignee", "Group", "Subject", "Tags", "Status", "Priority", "Via", "Ticket type",
               "Created at", "Updated at", "Solved at", "Satisfaction Score", "Reopens", "Replies",
               "First reply time in minutes", "Full resolution time in minutes"]
    vias = ["Phone call (incoming)", "Phone call (outgoing)", "Voicemail", "Email", "Web form", "Web service (API)",
            "Chat", "Messaging", "Mobile SDK", "Closed ticket"]
    statuses = ["new", "open", "pending", "hold", "solved", "closed"]
    scores = ["Good", "Bad", "Offered", "Unoffered", ""]
    tz = dt.timezone(dt.timedelta(hours=1))
    rows = []
    for i in range(n):
        created = _when(rng, dt.datetime(2025, 1, 1, tzinfo=tz), 120)
        cust = rng.randrange(1, 120)
        status = rng.choice(statuses)
        solved = created + dt.timedelta(hours=rng.randrange(1, 90)) if status in ("solved", "closed") else None
        fmt = "%Y-%m-%d %H:%M:%S %z"
        subject = rng.choice(["Card blocked", "Login fails, again", 'Fee "refund"', "Address change\nplease",
                              "Loan question"])
        rows.append(["", str(10000 + i), f"{rng.choice(FIRST)} {rng.choice(LAST)}", str(360000000 + cust),
                     f"CUST-{cust:05d}", f"c{cust}@example.com", "", rng.choice(AGENTS), "Support", subject,
                     "billing vip" if i % 7 == 0 else "", status, rng.choice(["low", "normal", "high", "urgent"]),
                     rng.choice(vias), rng.choice(["question", "incident", "problem", "task", ""]),
                     created.strftime(fmt), (created + dt.timedelta(hours=2)).strftime(fmt),
                     solved.strftime(fmt) if solved else "", rng.choice(scores), str(rng.randrange(3)),
                     str(rng.randrange(6)), str(rng.randrange(5, 600)), str(rng.randrange(30, 6000))])
    return _write(path, headers, rows)


def salesforce_accounts(path: Path, n: int = 300, seed: int = 11) -> Path:
    """Salesforce account report ("Details Only" CSV): comma, US dates ``3/14/2025``."""
    rng = random.Random(seed)
    headers = ["Account ID", "Account Name", "Type", "Industry", "Account Owner", "Billing State/Province",
               "Account Source", "Created Date", "Annual Revenue"]
    types = ["Customer - Direct", "Customer - Channel", "Prospect", "Channel Partner / Reseller", "Other", ""]
    sources = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", ""]
    rows = []
    for i in range(n):
        created = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(1000))
        rows.append([f"0015g0000{i:06d}AAA", f"{rng.choice(LAST)} & Co, Ltd", rng.choice(types),
                     rng.choice(["Banking", "Retail", "Energy", ""]), rng.choice(AGENTS[:-1]),
                     rng.choice(["CA", "NY", "TX", "WA", ""]), rng.choice(sources),
                     f"{created.month}/{created.day}/{created.year}", f"{rng.randrange(1, 900) * 1000:,}"])
    return _write(path, headers, rows)


def salesforce_cases(path: Path, accounts: int = 300, n: int = 350, seed: int = 13) -> Path:
    """Salesforce case report: exported as ISO-8859-1 (windows-1252), US ``3/14/2025 9:05 AM``."""
    rng = random.Random(seed)
    headers = ["Case Number", "Account ID", "Account Name", "Subject", "Case Origin", "Status", "Priority",
               "Case Owner", "Case Reason", "Date/Time Opened", "Closed"]
    rows = []
    for i in range(n):
        opened = _when(rng, dt.datetime(2025, 1, 1), 90)
        status = rng.choice(["New", "Working", "Escalated", "Closed", "Closed"])
        ampm = opened.strftime("%p")
        hour = opened.hour % 12 or 12
        rows.append([f"{1000 + i:08d}", f"0015g0000{rng.randrange(accounts):06d}AAA", "Société Générale",
                     rng.choice(["Card déclinée", "Statement copy", "Mortgage rate"]),
                     rng.choice(["Phone", "Email", "Web"]), status, rng.choice(["High", "Medium", "Low"]),
                     rng.choice(AGENTS[:-1]), rng.choice(["Installation", "Billing", "Complaint", ""]),
                     f"{opened.month}/{opened.day}/{opened.year} {hour}:{opened.minute:02d} {ampm}",
                     "1" if status == "Closed" else "0"])
    return _write(path, headers, rows, encoding="windows-1252", crlf=True)


def hubspot_contacts(path: Path, n: int = 300, seed: int = 17) -> Path:
    """HubSpot contacts export: comma, UTF-8 with BOM, ``2025-03-14 09:05``."""
    rng = random.Random(seed)
    headers = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner", "Lifecycle Stage",
               "Lead Status", "Create Date", "Last Activity Date", "State/Region", "Original Source"]
    stages = ["Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity", "Customer",
              "Evangelist", "Other", ""]
    rows = []
    for i in range(n):
        created = _when(rng, dt.datetime(2023, 1, 1), 700)
        rows.append([str(51000 + i), rng.choice(FIRST), rng.choice(LAST), f"p{i}@example.org",
                     f"+1 555 {rng.randrange(1000, 9999)}", rng.choice(AGENTS), rng.choice(stages),
                     rng.choice(["New", "Open", "In Progress", ""]), created.strftime("%Y-%m-%d %H:%M"),
                     (created + dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
                     rng.choice(["Bavaria", "Ontario", "California", ""]),
                     rng.choice(["Organic Search", "Direct Traffic", "Offline Sources", "Social Media", "Referrals"])])
    return _write(path, headers, rows, bom=True)


def hubspot_tickets(path: Path, contacts: int = 300, n: int = 320, seed: int = 19) -> Path:
    rng = random.Random(seed)
    headers = ["Ticket ID", "Ticket name", "Pipeline", "Ticket status", "Create date", "Ticket owner", "Priority",
               "Source", "Category", "Associated Contact", "Associated Contact IDs"]
    rows = []
    for i in range(n):
        created = _when(rng, dt.datetime(2025, 1, 1), 90)
        cid = 51000 + rng.randrange(contacts)
        rows.append([str(880000 + i), rng.choice(["Cannot log in", "Refund", "Card, lost"]), "Support Pipeline",
                     rng.choice(["New", "Waiting on contact", "Waiting on us", "Closed"]),
                     created.strftime("%Y-%m-%d %H:%M"), rng.choice(AGENTS),
                     rng.choice(["Low", "Medium", "High"]), rng.choice(["Chat", "Email", "Form", "Phone"]),
                     rng.choice(["Product issue", "Billing issue", "General inquiry", ""]),
                     f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                     f"{cid};{51000 + rng.randrange(contacts)}" if i % 10 == 0 else str(cid)])
    return _write(path, headers, rows, bom=True)


def hubspot_deals(path: Path, contacts: int = 300, n: int = 310, seed: int = 23,
                  currencies: tuple[str, ...] = ("USD",)) -> Path:
    rng = random.Random(seed)
    headers = ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner",
               "Create Date", "Associated Contact IDs", "Currency"]
    stages = ["Appointment Scheduled", "Qualified To Buy", "Contract Sent", "Closed won", "Closed won", "Closed lost"]
    rows = []
    for i in range(n):
        close = _when(rng, dt.datetime(2025, 1, 1), 90)
        rows.append([str(770000 + i), f"Deal {i}", rng.choice(stages),
                     rng.choice(["Mortgages", "Cards", "Savings"]), f"{rng.randrange(100, 50000) / 4:.2f}",
                     close.strftime("%Y-%m-%d %H:%M"), rng.choice(AGENTS), close.strftime("%Y-%m-%d %H:%M"),
                     str(51000 + rng.randrange(contacts)), rng.choice(currencies)])
    return _write(path, headers, rows)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def dynamics_contacts(path: Path, n: int = 300, seed: int = 29) -> tuple[Path, list[str]]:
    """Dynamics 365 contacts view exported to Excel and saved as "CSV UTF-8" in a German locale:
    ``;``, a byte-order mark, ``14.03.2025 09:05``. Returns the path and the contacts' GUIDs."""
    rng = random.Random(seed)
    headers = ["(Do Not Modify) Contact", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On",
               "Full Name", "Email", "Company Name", "Business Phone", "Relationship Type", "Owner",
               "Address 1: State/Province", "Created On"]
    ids, rows = [], []
    for i in range(n):
        gid = _guid(rng)
        ids.append(gid)
        created = _when(rng, dt.datetime(2022, 6, 1), 900)
        rows.append([gid, "vJ8o3k" + str(i), created.strftime("%d.%m.%Y %H:%M"),
                     f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"d{i}@example.de", "Contoso; Ltd",
                     "+49 89 1234", rng.choice(["Customer", "Prospect", "Partner", "Vendor", ""]),
                     rng.choice(AGENTS[:-1]), rng.choice(["Bayern", "Berlin", "Hessen", ""]),
                     created.strftime("%d.%m.%Y %H:%M")])
    return _write(path, headers, rows, delimiter=";", bom=True, crlf=True), ids


def dynamics_cases(path: Path, contact_ids: list[str], n: int = 330, seed: int = 31) -> Path:
    rng = random.Random(seed)
    headers = ["(Do Not Modify) Case", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On", "Case Number",
               "Case Title", "Customer ID", "Customer", "Priority", "Origin", "Status", "Status Reason", "Owner",
               "Case Type", "Satisfaction", "Created On"]
    sats = ["Very Satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very Dissatisfied", "", ""]
    rows = []
    for i in range(n):
        created = _when(rng, dt.datetime(2025, 1, 1), 90)
        status = rng.choice(["Active", "Resolved", "Resolved", "Cancelled"])
        reason = {"Active": "In Progress", "Resolved": "Problem Solved", "Cancelled": "Cancelled"}[status]
        rows.append([_guid(rng), "x", created.strftime("%d.%m.%Y %H:%M"), f"CAS-{i:05d}-Z3K4P9",
                     "Kartensperre; dringend", rng.choice(contact_ids), "Jonas Müller",
                     rng.choice(["High", "Normal", "Low"]), rng.choice(["Phone", "Email", "Web", "Facebook", "Twitter"]),
                     status, reason, rng.choice(AGENTS[:-1]), rng.choice(["Question", "Problem", "Request", ""]),
                     rng.choice(sats) if status == "Resolved" else "", created.strftime("%d.%m.%Y %H:%M")])
    return _write(path, headers, rows, delimiter=";", bom=True, crlf=True)
